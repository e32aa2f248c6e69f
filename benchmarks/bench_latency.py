"""How long the trainer keeps a caller waiting: pause, stop and snapshot from another thread.

    python benchmarks/bench_latency.py [--repeats 20]

The tests show the mechanism (a reader never takes a lock the step holds; a numerical gradient asks
`should_stop` between chunks and ends at the first True); this script times it. Three kinds of run,
each on mnist-sample, one BLAS thread, with a worker thread in TrainingSession.run():
- backprop: 784-100-10, batch 100 (steps of well under a millisecond);
- numerical (fast): 784-50-10, batch 100, the layer-aware method (a step of a fraction of a second);
- numerical (naive): 784-30-10, batch 10, the notebook's method (a step of many seconds).
For each: the time snapshot() takes while a step is under way; the time from pause() until the
worker has stopped changing the weights' step counter or progress; the time from stop() until run()
returns. The issue's target is 100 ms for pause and stop. Also printed: the longest gap between two
`should_stop` calls of the fast method (784-100-10 and 784-100-100-10, batch 100, float64).
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

import numpy as np
from threadpoolctl import threadpool_limits

from core.config import TrainConfig
from core.datasets import load_dataset
from core.network import MLP
from core.numerical import fast_numerical_gradient
from core.training import TrainingSession

from machine_load import cpu_ticks, others_share, own_cpu_seconds

RUNS = {
    "backprop": TrainConfig(hidden=(100,), batch_size=100, steps=10**8),
    "numerical (fast)": TrainConfig(hidden=(50,), batch_size=100, steps=10**6, gradient="numerical"),
    "numerical (naive)": TrainConfig(hidden=(30,), batch_size=10, steps=10**6, gradient="numerical-naive"),
}


def wait_until(condition, timeout: float = 60.0) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the session did not get there")
        time.sleep(0.001)


def under_way(session: TrainingSession, numerical: bool) -> None:
    """Wait until a step is in progress (for a numerical one: its gradient is partly done)."""
    if numerical:
        wait_until(lambda: 0 < session.snapshot().step_progress < 0.9)
    else:
        start = session.snapshot().step
        wait_until(lambda: session.snapshot().step > start + 10)


def settled_after(session: TrainingSession) -> float:
    """Seconds until neither the step counter nor the step's progress moves any more (a 50 ms
    quiet period, which is not counted)."""
    def position() -> tuple[int, float]:
        snap = session.snapshot()
        return snap.step, snap.step_progress

    start = time.perf_counter()
    last, moved = position(), start
    while time.perf_counter() - moved < 0.05:
        time.sleep(0.0005)
        now = position()
        if now != last:
            last, moved = now, time.perf_counter()
    return moved - start


def one_round(config: TrainConfig, dataset) -> tuple[float, float, float]:
    """(snapshot, pause, stop) seconds for one session."""
    numerical = config.gradient != "backprop"
    session = TrainingSession(config, dataset)
    worker = threading.Thread(target=session.run)
    worker.start()
    session.start()
    under_way(session, numerical)
    asked = time.perf_counter()
    session.snapshot(weights=True)
    snapshot = time.perf_counter() - asked

    session.pause()
    pause = settled_after(session)
    session.resume()
    under_way(session, numerical)
    asked = time.perf_counter()
    session.stop()
    worker.join()
    return snapshot, pause, time.perf_counter() - asked


def longest_check_gap(sizes: list[int], x: np.ndarray, t: np.ndarray) -> float:
    stamps = []
    net = MLP(sizes, seed=0)

    def stamp() -> bool:
        stamps.append(time.perf_counter())
        return False

    stamps.append(time.perf_counter())
    fast_numerical_gradient(net, x, t, should_stop=stamp)
    stamps.append(time.perf_counter())
    return float(np.max(np.diff(stamps)))


def ms(values: list[float]) -> str:
    return f"{1000 * statistics.median(values):7.2f} {1000 * max(values):7.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=20, help="sessions per kind of run (default 20)")
    args = parser.parse_args()
    dataset = load_dataset("mnist-sample")
    load, cpu = cpu_ticks(), own_cpu_seconds()
    print(f"{'run':18} {'snapshot ms':>15} {'pause ms':>15} {'stop ms':>15}")
    print(f"{'':18} {'median     max':>15} {'median     max':>15} {'median     max':>15}")
    with threadpool_limits(limits=1):
        for name, config in RUNS.items():
            repeats = args.repeats if name != "numerical (naive)" else max(3, args.repeats // 4)
            rounds = [one_round(config, dataset) for _ in range(repeats)]
            snapshot, pause, stop = (list(column) for column in zip(*rounds))
            print(f"{name:18} {ms(snapshot)} {ms(pause)} {ms(stop)}", flush=True)
        x, t = dataset.x_train[:100].astype(np.float64), dataset.t_train[:100]
        for sizes in ([784, 100, 10], [784, 100, 100, 10]):
            gaps = [longest_check_gap(sizes, x, t) for _ in range(3)]
            print(f"fast numerical gradient {'-'.join(map(str, sizes))}: longest gap between should_stop "
                  f"calls {1000 * statistics.median(gaps):.1f} ms (median of 3)")
    print(others_share(load, own_cpu_seconds() - cpu))


if __name__ == "__main__":
    main()
