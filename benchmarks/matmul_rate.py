"""This machine's single-thread fp32 matrix-product rate, to scale the README's timings to your CPU.

    python benchmarks/matmul_rate.py

README timings were measured on a CPU whose rate it states; a machine with twice the rate runs the demo
roughly twice as fast (training and evaluation are mostly matrix products; see benchmarks/README.md).
"""

import platform
import time

import torch


def cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gflops(n: int = 1024, repeats: int = 20) -> float:
    """Best of `repeats` n x n x n fp32 products on one thread, in GFLOP/s."""
    torch.set_num_threads(1)
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


if __name__ == "__main__":
    print(
        f"{cpu_name()}: {gflops():.0f} GFLOP/s single-thread fp32 matrix product (torch {torch.__version__})"
    )
