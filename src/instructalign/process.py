"""Settings a command-line process makes for itself (never for a library user's process).

Measured on `instructalign eval` of a 12.4M model, 600 prompts, 2-core CPU (`benchmarks/README.md`):

- **Allocator.** glibc's malloc hands large blocks (every activation tensor) back to the kernel when they
  are freed and maps fresh pages for the next batch: ~700k page faults and ~1.5 s of kernel time per pass
  over the prompts. Keeping freed memory in the process (`mallopt`: blocks under 64 MiB from the heap, the
  heap trimmed only past 256 MiB free) leaves ~110k faults, all on the first batches, and 0 after; scoring
  ~1.2 s faster, peak memory ~+200 MB. Blocks of 64 MiB and more (a large model's weights) are still
  mapped and returned to the system when freed.
  PyTorch's CPU tuning guide gets the same with jemalloc or tcmalloc; an `LD_PRELOAD`ed allocator or a
  `MALLOC_*` setting of the user's own is left alone.
- **Garbage collector.** Importing torch and transformers creates millions of long-lived objects, and the
  default thresholds run ~1,000 collections over them (~1 s) while nothing is garbage. The young
  generation is collected every 100,000 allocations instead of 700.
- **Exit.** The interpreter's last full collection walks all those objects again (~1 s); freezing them
  first (`gc.freeze`) skips it. Open files are still closed and `atexit` handlers still run.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
HEAP_BLOCKS_UNDER = 64 << 20
TRIM_HEAP_PAST = 256 << 20
GC_THRESHOLDS = (100_000, 20, 10)


def own_allocator_settings() -> bool:
    """Whether the user chose the allocator or its settings themselves."""
    return bool(os.environ.get("LD_PRELOAD")) or any(k.startswith("MALLOC_") for k in os.environ)


def keep_freed_memory() -> bool:
    """glibc only: large blocks come from the heap and stay there when freed (see the module docstring)."""
    if not sys.platform.startswith("linux") or own_allocator_settings():
        return False
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6")
        return bool(
            libc.mallopt(M_MMAP_THRESHOLD, HEAP_BLOCKS_UNDER)
            and libc.mallopt(M_TRIM_THRESHOLD, TRIM_HEAP_PAST)
        )
    return False


def tune_process() -> None:
    """Call first thing in a command's own process (the CLI, a demo worker)."""
    keep_freed_memory()
    gc.set_threshold(*GC_THRESHOLDS)


def exit_without_final_collection(code: int) -> None:
    gc.freeze()
    sys.exit(code)
