"""One training step of 784-100-10 (batch 100, float32, SGD, one BLAS thread) against PyTorch, a
hand-written NumPy step and the GEMM-only ceiling, measured side by side.

    python benchmarks/bench_step.py [--repeats 25] [--steps 300]

- scratchnet: grads = net.gradient(x, t); optimizer.update(net.params, grads), as the session calls it,
              on mnist-sample's training batches in turn.
- pytorch:    the same network, loss and SGD in torch (CPU, one thread), if torch is installed
              (`pip install -e '.[bench]'`).
- numpy-floor: the same step hand-written for this one network in plain NumPy, lean: no layers, no
              checks, the large arrays preallocated, ReLU and softmax in place, the loss computed as the
              session needs it. What the layered engine's design costs shows against it.
- gemm-only:  just the five matrix products a step needs (x W1, h W2, h^T dA, dA W2^T, x^T dh), in
              float32 with preallocated outputs, on the same batches in turn: what no step can beat
              on this machine.
Rounds run every contender once, in an order that rotates; the table gives median steps/s, the
ratios of the medians and the median ratio within a round (this machine's speed drifts by 2x over
seconds, so comparisons within a round are the steadier figure).
"""

from __future__ import annotations

import argparse
import itertools
import math
import statistics
import time
from typing import Callable

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from core.datasets import load_dataset
from core.network import MLP
from core.optimizers import SGD

BATCH, SIZES = 100, (784, 100, 10)


def batches() -> list[tuple[np.ndarray, np.ndarray]]:
    """The 80 batches of mnist-sample's 8,000 training digits, float32: each step takes the next, so
    that no contender memorises one batch (a saturated softmax is not the usual case)."""
    data = load_dataset("mnist-sample")
    order = np.random.default_rng(0).permutation(data.n_train)
    return [(np.ascontiguousarray(data.x_train[order[i:i + BATCH]], np.float32), data.t_train[order[i:i + BATCH]])
            for i in range(0, data.n_train - BATCH + 1, BATCH)]


def scratchnet_step(data: list) -> Callable[[], None]:
    net = MLP(SIZES, weight_init="he", dtype="float32", seed=0)
    optimizer = SGD(lr=0.01)
    cycle = itertools.cycle(data)

    def step() -> None:
        x, t = next(cycle)
        optimizer.update(net.params, net.gradient(x, t))

    return step


def numpy_floor(data: list) -> Callable[[], float]:
    cycle = itertools.cycle(data)
    rng = np.random.default_rng(1)
    W1 = math.sqrt(2 / SIZES[0]) * rng.standard_normal(SIZES[:2], dtype=np.float32)
    W2 = math.sqrt(2 / SIZES[1]) * rng.standard_normal(SIZES[1:], dtype=np.float32)
    b1, b2 = np.zeros(SIZES[1], np.float32), np.zeros(SIZES[2], np.float32)
    params = (W1, b1, W2, b2)
    h = np.empty((BATCH, SIZES[1]), np.float32)
    y = np.empty((BATCH, SIZES[2]), np.float32)
    dh, dW1, dW2, db1, db2 = (np.empty_like(a) for a in (h, W1, W2, b1, b2))
    grads = (dW1, db1, dW2, db2)
    scratch = [np.empty_like(p) for p in params]
    row_starts = np.arange(0, BATCH * SIZES[2], SIZES[2])
    lr = np.float32(0.01)

    def step() -> float:
        x, t = next(cycle)
        # (ufuncs with out=: an augmented assignment would make these names local to step)
        np.matmul(x, W1, out=h)
        np.add(h, b1, out=h)
        np.maximum(h, 0, out=h)
        np.matmul(h, W2, out=y)
        np.add(y, b2, out=y)
        np.subtract(y, y.max(axis=1, keepdims=True), out=y)
        np.exp(y, out=y)
        np.divide(y, y.sum(axis=1, keepdims=True), out=y)
        true_class = row_starts + t
        loss = -float(np.log(y.ravel()[true_class] + 1e-7).sum()) / BATCH
        y.ravel()[true_class] -= 1
        np.multiply(y, 1 / BATCH, out=y)  # y now holds dL/da
        np.matmul(h.T, y, out=dW2)
        np.add.reduce(y, axis=0, out=db2)
        np.matmul(y, W2.T, out=dh)
        np.multiply(dh, h > 0, out=dh)
        np.matmul(x.T, dh, out=dW1)
        np.add.reduce(dh, axis=0, out=db1)
        for p, g, buf in zip(params, grads, scratch):
            np.multiply(g, lr, out=buf)
            np.subtract(p, buf, out=p)
        return loss

    return step


def gemm_only(data: list) -> Callable[[], None]:
    cycle = itertools.cycle([x for x, _ in data])
    rng = np.random.default_rng(1)
    W1 = 0.05 * rng.standard_normal(SIZES[:2], dtype=np.float32)
    W2 = 0.1 * rng.standard_normal(SIZES[1:], dtype=np.float32)
    h = np.empty((BATCH, SIZES[1]), np.float32)
    a = np.empty((BATCH, SIZES[2]), np.float32)
    dW1, dW2, dh = np.empty_like(W1), np.empty_like(W2), np.empty_like(h)

    def step() -> None:
        x = next(cycle)
        np.matmul(x, W1, out=h)
        np.matmul(h, W2, out=a)
        np.matmul(h.T, a, out=dW2)
        np.matmul(a, W2.T, out=dh)
        np.matmul(x.T, dh, out=dW1)

    return step


def pytorch_step(data: list) -> Callable[[], None] | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    torch.manual_seed(0)
    cycle = itertools.cycle([(torch.from_numpy(x), torch.from_numpy(t)) for x, t in data])
    model = torch.nn.Sequential(torch.nn.Linear(784, 100), torch.nn.ReLU(), torch.nn.Linear(100, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step() -> None:
        x, t = next(cycle)
        optimizer.zero_grad()  # the default, set_to_none=True: about 10% faster here than zeroing in place
        loss_fn(model(x), t).backward()
        optimizer.step()

    return step


def rate(step: Callable[[], None], n: int) -> float:
    for _ in range(max(n // 20, 10)):
        step()
    start = time.perf_counter()
    for _ in range(n):
        step()
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=25, help="rounds (default 25)")
    parser.add_argument("--steps", type=int, default=300, help="steps per measurement (default 300)")
    args = parser.parse_args()
    data = batches()
    contenders = {"scratchnet": scratchnet_step(data), "numpy-floor": numpy_floor(data), "gemm-only": gemm_only(data)}
    torch_step = pytorch_step(data)
    if torch_step is not None:
        contenders["pytorch"] = torch_step
    names = list(contenders)
    results: dict[str, list[float]] = {name: [] for name in names}
    with threadpool_limits(limits=1, user_api="blas"):
        blas = [f"{i['internal_api']} {i.get('version')} {i.get('architecture')}" for i in threadpool_info() if i["user_api"] == "blas"]
        for round_ in range(args.repeats):
            for name in names[round_ % len(names):] + names[:round_ % len(names)]:  # the order rotates
                results[name].append(rate(contenders[name], args.steps))
    medians = {name: statistics.median(values) for name, values in results.items()}
    print(f"784-100-10, batch {BATCH}, float32, SGD, 1 BLAS thread ({'; '.join(blas)})")
    print(f"{'':12} {'median steps/s':>15} {'min':>8} {'max':>8}")
    for name, values in results.items():
        print(f"{name:12} {medians[name]:15.0f} {min(values):8.0f} {max(values):8.0f}")
    print("ratios: of the medians; in brackets, the median and range of the ratio within each round")
    if "pytorch" not in medians:
        print("pytorch: not installed (pip install -e '.[bench]')")
    comparisons = [("scratchnet", "gemm-only"), ("scratchnet", "numpy-floor"), ("scratchnet", "pytorch"),
                   ("numpy-floor", "gemm-only"), ("numpy-floor", "pytorch")]
    for name, other in comparisons:
        if other in medians:
            per_round = [a / b for a, b in zip(results[name], results[other])]
            print(f"{name + ' / ' + other + ':':26} {medians[name] / medians[other]:.2f} "
                  f"[{statistics.median(per_round):.2f}, {min(per_round):.2f}-{max(per_round):.2f}]")


if __name__ == "__main__":
    main()
