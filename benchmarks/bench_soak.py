"""Soak: one TrainingSession of a million steps on a small network, memory sampled as it runs.

    python benchmarks/bench_soak.py [--steps 1000000] [--interval 10] [--dataset circle]
                                    [--hidden 8] [--batch-size 10] [--eval-every 0]

The session trains in a worker thread, as in the app and the CLI; this thread samples every
--interval seconds: the process's resident memory (VmRSS from /proc/self/status), the length of
the session's history (loss-curve points and evaluation records, as a snapshot returns them),
the time one snapshot takes, and the speed over the interval. At the end: steps per second, RSS at
the start / peak / end, its growth over the run and over the second half (a leak keeps growing
after warm-up), and the size of a checkpoint of the finished run.

Not a test: it runs for minutes (--steps shortens it). Linux only (reads /proc).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

from core.config import TrainConfig  # noqa: E402
from core.training import TrainingSession  # noqa: E402


def proc_status_kib(field: str) -> int:
    """A "<field>:  <n> kB" line of /proc/self/status, in KiB (VmRSS: resident now, VmHWM: peak)."""
    with open("/proc/self/status") as file:
        for line in file:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field} line")


def mib(kib: float) -> str:
    return f"{kib / 1024:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1_000_000, help="training steps (default 1,000,000)")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between samples (default 10)")
    parser.add_argument("--dataset", default="circle")
    parser.add_argument("--hidden", default="8", help="hidden layer sizes, e.g. 8 or 16,8")
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--eval-every", type=int, default=0,
                        help="steps between evaluations (default 0: every epoch, as the app does)")
    args = parser.parse_args()

    hidden = tuple(int(size) for size in args.hidden.split(",") if size.strip())
    config = TrainConfig(dataset=args.dataset, hidden=hidden, batch_size=args.batch_size,
                         steps=args.steps, eval_every=args.eval_every, seed=0)
    session = TrainingSession(config)
    layers = "-".join(map(str, session.network.sizes))
    print(f"soak: {args.steps:,} steps of {layers} on {args.dataset}, batch {args.batch_size}, "
          f"{session.steps_per_epoch} steps per epoch, eval_every={args.eval_every} "
          f"({'every epoch' if not args.eval_every else f'every {args.eval_every} steps'}), "
          f"sampling every {args.interval:g} s; pid {os.getpid()}")
    print()
    header = (f"{'time s':>8} {'step':>10} {'steps/s':>9} {'RSS MiB':>8} {'loss pts':>8} "
              f"{'evals':>7} {'snapshot ms':>11}")
    print(header)
    print("-" * len(header))

    gc.collect()
    rss_start = proc_status_kib("VmRSS")
    samples: list[tuple[float, int, int]] = []  # (seconds, step, rss KiB)

    def sample(now: float, last: tuple[float, int] | None) -> tuple[float, int]:
        t0 = time.perf_counter()
        snap = session.snapshot()
        snapshot_ms = (time.perf_counter() - t0) * 1e3
        rss = proc_status_kib("VmRSS")
        seconds = now - start
        rate = (snap.step - last[1]) / (seconds - last[0]) if last and seconds > last[0] else 0.0
        samples.append((seconds, snap.step, rss))
        print(f"{seconds:8.1f} {snap.step:>10,} {rate:>9,.0f} {mib(rss):>8} {len(snap.loss_steps):>8} "
              f"{len(snap.evaluations):>7} {snapshot_ms:>11.2f}", flush=True)
        return seconds, snap.step

    worker = threading.Thread(target=session.run, name="soak-trainer", daemon=True)
    start = time.perf_counter()
    last = sample(start, None)
    session.start()
    worker.start()
    while worker.is_alive():
        worker.join(args.interval)
        last = sample(time.perf_counter(), last)
    wall = time.perf_counter() - start
    final = session.snapshot()

    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "soak.npz")
        session.save_checkpoint(path)
        checkpoint_bytes = os.path.getsize(path)

    rss_end = proc_status_kib("VmRSS")
    rss_peak_sampled = max(rss for _, _, rss in samples)
    half = next((rss for seconds, _, rss in samples if seconds >= wall / 2), rss_end)
    print()
    print(f"final: state {final.state}, {final.step:,} steps in {wall:.1f} s wall "
          f"({final.elapsed:.1f} s training): {final.step / wall:,.0f} steps/s")
    print(f"RSS: start {mib(rss_start)} MiB, peak {mib(rss_peak_sampled)} MiB sampled "
          f"(VmHWM {mib(proc_status_kib('VmHWM'))} MiB), end {mib(rss_end)} MiB; "
          f"growth {mib(rss_end - rss_start)} MiB over the run, {mib(rss_end - half)} MiB over the second half")
    print(f"history: {len(final.loss_steps)} loss-curve points, {len(final.evaluations):,} evaluation records; "
          f"checkpoint of the finished run: {checkpoint_bytes / 2**20:.2f} MiB")
    if final.state != "finished":
        print(f"warning: the run ended {final.state}: {final.message}")


if __name__ == "__main__":
    main()
