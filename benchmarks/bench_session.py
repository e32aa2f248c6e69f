"""What the training session costs over a bare step loop, measured side by side.

    python benchmarks/bench_session.py [--steps 1000] [--repeats 15]

Both train 784-100-10 (float32, SGD, batch 100, shuffled epochs) on mnist-sample for the same
number of steps and evaluate once at the end (train accuracy on eval_samples rows, test accuracy):
- bare loop: gather a batch (into buffers, as the session does), net.gradient, optimizer.update;
             nothing else.
- session:   TrainingSession.run() in this thread (locks, metrics history, divergence guard,
             step counters), evaluating only at the end (eval_every = steps).
Rounds run both, in an order that alternates; the table gives median steps/s, the session's overhead
of the medians, and the median and quartiles of the overhead within each round (the steadier figure:
this machine's speed drifts by up to 2x over seconds).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

from core.config import TrainConfig
from core.metrics import evaluate
from core.training import TrainingSession, build_network, build_optimizer, load_data


def bare_loop(config: TrainConfig, dataset) -> float:
    net, optimizer = build_network(config, dataset), build_optimizer(config)
    x_train = dataset.x_train.astype(config.dtype, copy=False)
    rng = np.random.default_rng(config.seed)
    size, n_train = config.batch_size, dataset.n_train
    x_batch = np.empty((size, x_train.shape[1]), x_train.dtype)  # gathered as the session does
    t_batch = np.empty(size, dataset.t_train.dtype)
    start = time.perf_counter()
    with threadpool_limits(limits=1):
        order = rng.permutation(n_train)
        for step in range(config.steps):
            k = step % (n_train // size)
            if k == 0 and step:
                order = rng.permutation(n_train)
            batch = order[k * size:(k + 1) * size]
            x = np.take(x_train, batch, axis=0, out=x_batch, mode="clip")
            t = np.take(dataset.t_train, batch, out=t_batch, mode="clip")
            optimizer.update(net.params, net.gradient(x, t))
        evaluate(net, x_train[:config.eval_samples], dataset.t_train[:config.eval_samples])  # as many
        evaluate(net, dataset.x_test, dataset.t_test)  # rows as the session's final evaluation
    return config.steps / (time.perf_counter() - start)


def session_run(config: TrainConfig, dataset) -> float:
    session = TrainingSession(config, dataset)
    session.start()
    start = time.perf_counter()
    session.run()
    return config.steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000, help="steps per run (default 1000)")
    parser.add_argument("--repeats", type=int, default=21, help="rounds, one run of each (default 21)")
    args = parser.parse_args()
    if args.repeats < 2:
        parser.error("--repeats must be at least 2: the overhead within rounds is given by its quartiles")
    config = TrainConfig(hidden=(100,), optimizer="sgd", lr=0.1, steps=args.steps, eval_every=args.steps)
    dataset = load_data(config)
    runs = {"bare loop": bare_loop, "session": session_run}
    results: dict[str, list[float]] = {name: [] for name in runs}
    for round_ in range(args.repeats):
        for name in (list(runs) if round_ % 2 == 0 else list(runs)[::-1]):
            results[name].append(runs[name](config, dataset))
    medians = {name: statistics.median(values) for name, values in results.items()}
    print(f"mnist-sample, 784-100-10, float32, SGD, batch 100, {args.steps} steps, 1 BLAS thread")
    print(f"{'':10} {'median steps/s':>15} {'min':>8} {'max':>8}")
    for name, values in results.items():
        print(f"{name:10} {medians[name]:15.0f} {min(values):8.0f} {max(values):8.0f}")
    per_round = [100 * (1 - session / bare) for session, bare in zip(results["session"], results["bare loop"])]
    q1, median, q3 = statistics.quantiles(per_round, n=4, method="inclusive")
    print(f"session overhead: {100 * (1 - medians['session'] / medians['bare loop']):.1f}% of the bare loop's speed "
          f"(medians); within rounds: median {median:.1f}%, quartiles {q1:.1f}%..{q3:.1f}%")
    print(f"target 3a: the session costs <= 5% over the bare loop -> {median:.1f}% within rounds: "
          f"{'PASS' if median <= 5 else 'FAIL'}")


if __name__ == "__main__":
    main()
