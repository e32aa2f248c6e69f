"""Training steps per second of the core engine: 784-100-10, batch 100, SGD, one BLAS thread.

    python benchmarks/bench_core.py [--seconds 2] [--repeats 5]

A step is what the training session calls: grads = net.gradient(x, t); optimizer.update(params, grads).
Repetitions of float32 and float64 are interleaved; the table gives medians.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

from core.network import MLP
from core.optimizers import SGD


def steps_per_second(dtype: str, seconds: float, batch: int = 100) -> float:
    rng = np.random.default_rng(0)
    x = rng.random((batch, 784)).astype(dtype)
    t = rng.integers(0, 10, batch)
    net = MLP([784, 100, 10], weight_init="he", dtype=dtype, seed=0)
    optimizer = SGD(lr=0.01)
    for _ in range(20):  # warm-up: buffers allocated, caches warm
        optimizer.update(net.params, net.gradient(x, t))
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(50):
            optimizer.update(net.params, net.gradient(x, t))
        steps += 50
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="length of one measurement")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved repetitions per dtype")
    args = parser.parse_args()
    results: dict[str, list[float]] = {"float32": [], "float64": []}
    with threadpool_limits(limits=1, user_api="blas"):
        for _ in range(args.repeats):
            for dtype in results:
                results[dtype].append(steps_per_second(dtype, args.seconds))
    print(f"{'dtype':8} {'median steps/s':>15} {'min':>8} {'max':>8}")
    for dtype, values in results.items():
        print(f"{dtype:8} {statistics.median(values):15.0f} {min(values):8.0f} {max(values):8.0f}")
    ratio = statistics.median(results["float32"]) / statistics.median(results["float64"])
    print(f"float32 / float64: {ratio:.2f}x")


if __name__ == "__main__":
    main()
