"""The command's own process settings: an allocator the user chose is left alone, and the collector still
collects (only less often)."""

import gc
import os
import sys
import weakref

import pytest

from instructalign import process


def test_a_users_own_allocator_settings_are_left_alone(monkeypatch):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "2")
    assert process.keep_freed_memory() is False
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    monkeypatch.setenv("LD_PRELOAD", "/usr/lib/libjemalloc.so.2")
    assert process.keep_freed_memory() is False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_glibc_keeps_freed_memory(monkeypatch):
    for key in [k for k in list(os.environ) if k.startswith("MALLOC_") or k == "LD_PRELOAD"]:
        monkeypatch.delenv(key)
    assert process.keep_freed_memory() is True


def test_tuned_process_still_collects_cycles_on_its_own():
    before = gc.get_threshold()
    try:
        process.tune_process()

        class Node:
            pass

        a, b = Node(), Node()
        a.other, b.other = b, a
        alive = weakref.ref(a)
        del a, b
        keep = [[] for _ in range(3 * process.GC_THRESHOLDS[0])]  # allocations enough for collections
        assert alive() is None and keep
    finally:
        gc.set_threshold(*before)
