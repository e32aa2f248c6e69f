"""Numerical gradient: the notebook's method ("naive") against the layer-aware one ("fast").

    python benchmarks/bench_numerical.py [--rounds 3] [--fast-repeats 5] [--naive-entries K]

784-50-10 (ReLU, softmax + cross-entropy, the default MLP), a batch of 100 mnist-sample digits (their
blank pixels are real zeros), float64, one BLAS thread. Each round times the naive method once in full
(~20 s) and then the fast one --fast-repeats times; the table gives medians over all rounds of the
wall-clock time (and of the process's CPU time, which another busy process on the machine disturbs less),
the speed-up and the largest difference between the two gradients.
--naive-entries K times the naive method on its first K entries only and extrapolates to all of them
(the table says so); the max difference then cannot be measured.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from core.datasets import load_dataset
from core.network import MLP
from core.numerical import Cancelled, fast_numerical_gradient, naive_numerical_gradient

SIZES = (784, 50, 10)
BATCH = 100


class Clock:
    """Wall-clock and CPU seconds of the process, from start to stop."""

    def __enter__(self) -> "Clock":
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def time_fast(net: MLP, x: np.ndarray, t: np.ndarray) -> tuple[Clock, dict[str, np.ndarray]]:
    with Clock() as clock:
        grads = fast_numerical_gradient(net, x, t)
    return clock, grads


def time_naive(net: MLP, x: np.ndarray, t: np.ndarray, entries: int | None) -> tuple[Clock, dict | None]:
    """The whole naive gradient; with `entries`, measured on that many and extrapolated."""
    if entries is None:
        with Clock() as clock:
            grads = naive_numerical_gradient(net, x, t)
        return clock, grads
    total = sum(param.size for param in net.params.values())
    asked = 0

    def stop_after_entries() -> bool:  # asked once before each entry
        nonlocal asked
        asked += 1
        return asked > entries

    with Clock() as clock:
        try:
            naive_numerical_gradient(net, x, t, should_stop=stop_after_entries)
        except Cancelled:
            pass
    clock.wall, clock.cpu = clock.wall * total / entries, clock.cpu * total / entries
    return clock, None


def blas_description() -> str:
    infos = [info for info in threadpool_info() if info.get("user_api") == "blas"]
    if not infos:
        return "unknown BLAS"
    info = infos[0]
    return f"{info.get('internal_api')} {info.get('version')} ({info.get('architecture')})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (one naive run each)")
    parser.add_argument("--fast-repeats", type=int, default=5, help="fast runs per round")
    parser.add_argument("--naive-entries", type=int, default=None,
                        help="time the naive method on this many entries and extrapolate")
    args = parser.parse_args()

    data = load_dataset("mnist-sample")
    x = data.x_train[:BATCH].astype(np.float64)
    t = data.t_train[:BATCH]
    net = MLP(SIZES, seed=0)
    entries = sum(param.size for param in net.params.values())
    naive_times: list[Clock] = []
    fast_times: list[Clock] = []
    round_ratios: list[float] = []
    max_diff: float | None = None
    with threadpool_limits(limits=1, user_api="blas"):
        time_fast(net, x, t)  # warm-up
        for _ in range(args.rounds):
            naive_clock, naive = time_naive(net, x, t, args.naive_entries)
            runs = [time_fast(net, x, t) for _ in range(args.fast_repeats)]
            naive_times.append(naive_clock)
            fast_times.extend(clock for clock, _ in runs)
            round_ratios.append(naive_clock.wall / statistics.median(clock.wall for clock, _ in runs))
            if naive is not None:
                fast = runs[-1][1]
                diff = max(float(np.max(np.abs(fast[name] - naive[name]))) for name in naive)
                max_diff = diff if max_diff is None else max(max_diff, diff)

    zeros = float(np.mean(x == 0))
    sizes = "-".join(map(str, SIZES))
    print(f"Numerical gradient, {sizes} ReLU / softmax + cross-entropy, {entries} entries, batch {BATCH}")
    print(f"mnist-sample rows ({zeros:.0%} zeros), float64, 1 BLAS thread: {blas_description()}, "
          f"numpy {np.__version__}, {platform.processor() or platform.machine()}")
    naive_label = "naive" if args.naive_entries is None else "naive*"
    print()
    print(f"{'method':8} {'median s':>10} {'min s':>10} {'max s':>10} {'median CPU s':>13} {'runs':>5}")
    for label, clocks in ((naive_label, naive_times), ("fast", fast_times)):
        wall = [clock.wall for clock in clocks]
        cpu = statistics.median(clock.cpu for clock in clocks)
        print(f"{label:8} {statistics.median(wall):10.4f} {min(wall):10.4f} {max(wall):10.4f} {cpu:13.4f} {len(wall):5d}")
    ratio = statistics.median(c.wall for c in naive_times) / statistics.median(c.wall for c in fast_times)
    cpu_ratio = statistics.median(c.cpu for c in naive_times) / statistics.median(c.cpu for c in fast_times)
    print()
    print(f"speed-up, median naive / median fast: {ratio:,.0f}x   (target >= 300x)")
    print(f"speed-up within each round:           {min(round_ratios):,.0f}x .. {max(round_ratios):,.0f}x")
    print(f"speed-up in CPU time (medians):       {cpu_ratio:,.0f}x")
    if max_diff is not None:
        print(f"max |fast - naive| over all entries:  {max_diff:.1e}   (target <= 1e-10)")
    else:
        print(f"* naive timed on its first {args.naive_entries} entries and extrapolated to all {entries}; "
              "max |fast - naive| not measured (run without --naive-entries)")


if __name__ == "__main__":
    main()
