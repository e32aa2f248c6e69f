"""One training step of 784-100-10 (batch 100, float32, SGD, one BLAS thread) against PyTorch and
against the GEMM-only ceiling, measured side by side.

    python benchmarks/bench_step.py [--repeats 7] [--steps 1000]

- scratchnet: grads = net.gradient(x, t); optimizer.update(net.params, grads), as the session calls it.
- pytorch:    the same network, loss and SGD in torch (CPU, one thread), if torch is installed
              (`pip install -e '.[bench]'`).
- gemm-only:  just the five matrix products a step needs (x W1, h W2, h^T dA, dA W2^T, x^T dh), in
              float32 with preallocated outputs: what no step can beat on this machine.
Repetitions are interleaved; the table gives median steps/s and ratios of medians.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from core.network import MLP
from core.optimizers import SGD

BATCH, SIZES = 100, (784, 100, 10)


def batch_data(dtype=np.float32):
    rng = np.random.default_rng(0)
    return rng.random((BATCH, SIZES[0])).astype(dtype), rng.integers(0, SIZES[-1], BATCH)


def scratchnet_step() -> Callable[[], None]:
    x, t = batch_data()
    net = MLP(SIZES, weight_init="he", dtype="float32", seed=0)
    optimizer = SGD(lr=0.01)
    return lambda: optimizer.update(net.params, net.gradient(x, t))


def gemm_only() -> Callable[[], None]:
    x, _ = batch_data()
    rng = np.random.default_rng(1)
    W1 = rng.standard_normal(SIZES[:2], dtype=np.float32)
    W2 = rng.standard_normal(SIZES[1:], dtype=np.float32)
    h = np.empty((BATCH, SIZES[1]), np.float32)
    a = np.empty((BATCH, SIZES[2]), np.float32)
    dW1, dW2, dh = np.empty_like(W1), np.empty_like(W2), np.empty_like(h)

    def step() -> None:
        np.matmul(x, W1, out=h)
        np.matmul(h, W2, out=a)
        np.matmul(h.T, a, out=dW2)
        np.matmul(a, W2.T, out=dh)
        np.matmul(x.T, dh, out=dW1)

    return step


def pytorch_step() -> Callable[[], None] | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    torch.manual_seed(0)
    x, t = batch_data()
    x, t = torch.from_numpy(x), torch.from_numpy(t)
    model = torch.nn.Sequential(torch.nn.Linear(784, 100), torch.nn.ReLU(), torch.nn.Linear(100, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step() -> None:
        optimizer.zero_grad(set_to_none=False)
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
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--steps", type=int, default=1000, help="steps per measurement")
    args = parser.parse_args()
    contenders = {"scratchnet": scratchnet_step(), "gemm-only": gemm_only()}
    torch_step = pytorch_step()
    if torch_step is not None:
        contenders["pytorch"] = torch_step
    results: dict[str, list[float]] = {name: [] for name in contenders}
    with threadpool_limits(limits=1, user_api="blas"):
        blas = [f"{i['internal_api']} {i.get('version')} {i.get('architecture')}" for i in threadpool_info() if i["user_api"] == "blas"]
        for _ in range(args.repeats):
            for name, step in contenders.items():
                results[name].append(rate(step, args.steps))
    medians = {name: statistics.median(values) for name, values in results.items()}
    print(f"784-100-10, batch {BATCH}, float32, SGD, 1 BLAS thread ({'; '.join(blas)})")
    print(f"{'':12} {'median steps/s':>15} {'min':>8} {'max':>8}")
    for name, values in results.items():
        print(f"{name:12} {medians[name]:15.0f} {min(values):8.0f} {max(values):8.0f}")
    print(f"scratchnet / gemm-only ceiling: {medians['scratchnet'] / medians['gemm-only']:.2f}")
    if "pytorch" in medians:
        print(f"scratchnet / pytorch:           {medians['scratchnet'] / medians['pytorch']:.2f}x")
    else:
        print("pytorch: not installed (pip install -e '.[bench]')")


if __name__ == "__main__":
    main()
