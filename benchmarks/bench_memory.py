"""Peak memory of `scratchnet train`, and the metrics history's size after 10 million steps (issue 6, target 4).

    python benchmarks/bench_memory.py [--repeats 3] [--history-steps 10000000] [--per-call 1000000]

Part 1, peak RSS. Each command runs in its own child process; its peak resident set size is the
ru_maxrss that os.wait4() returns for that child alone (Linux: KiB; the peak over the child's whole
life, interpreter start-up included). The commands, interleaved over --repeats rounds:
- scratchnet train --epochs 1   (the default config: mnist-sample, 784-100-10, SGD, float32, batch 100)
- scratchnet train --epochs 5
- python -c pass                (the interpreter alone: the floor)
- python -c "import numpy"      (what any NumPy program costs)
- python -c "import torch"      (for comparison, when torch is installed)
Target: `scratchnet train` on mnist-sample peaks at <= 120 MiB.

Part 2, the history bound. A TrainingSession (the default config, 80 steps per epoch) has its
MetricsHistory fed as 10 million steps would feed it: the loss curve gets 10,000,000 (step, loss)
points through LossCurve.extend (the bulk path the tests use; it keeps exactly what one add_loss per
step keeps, see tests/test_training.py), one evaluation record per epoch (125,000 of them) goes
through add_evaluation, and the speed meter gets a tick every 100 steps. Then --per-call further
steps go through add_loss one call at a time, the path a real step takes. The table gives the
history's array sizes and bytes, the snapshot's, and the checkpoint state's, before and after.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
import tracemalloc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

LIMIT_MIB = 120.0


def scratchnet_command() -> list[str]:
    """The installed `scratchnet` script next to this interpreter, else `python -m tui.cli`."""
    script = os.path.join(os.path.dirname(sys.executable), "scratchnet")
    if os.path.exists(script):
        return [script]
    found = shutil.which("scratchnet")
    return [found] if found else [sys.executable, "-m", "tui.cli"]


def peak_rss_mib(command: list[str]) -> tuple[float, float]:
    """(peak RSS in MiB, wall seconds) of one run of `command`, from os.wait4 of that child alone."""
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    stderr = child.stderr.read() if child.stderr else b""
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {child.returncode}: {stderr.decode()[-500:]}")
    return usage.ru_maxrss / 1024, wall


def torch_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def part_rss(repeats: int) -> list[tuple[str, float]]:
    scratchnet = scratchnet_command()
    commands: dict[str, list[str]] = {
        "scratchnet train --epochs 1": scratchnet + ["train", "--epochs", "1"],
        "scratchnet train --epochs 5": scratchnet + ["train", "--epochs", "5"],
        "python -c pass": [sys.executable, "-c", "pass"],
        'python -c "import numpy"': [sys.executable, "-c", "import numpy"],
    }
    if torch_installed():
        commands['python -c "import torch"'] = [sys.executable, "-c", "import torch"]
    rss: dict[str, list[float]] = {name: [] for name in commands}
    wall: dict[str, list[float]] = {name: [] for name in commands}
    names = list(commands)
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            peak, seconds = peak_rss_mib(commands[name])
            rss[name].append(peak)
            wall[name].append(seconds)
            print(f"  round {r + 1}/{repeats}  {name:30} {peak:7.1f} MiB  {seconds:5.2f} s", file=sys.stderr)

    print(f"Peak RSS of one process (ru_maxrss from os.wait4), {repeats} interleaved rounds; "
          f"scratchnet = {' '.join(scratchnet)}")
    header = f"{'command':32} {'median MiB':>10} {'min':>7} {'max':>7} {'vs limit':>9} {'wall s':>7}"
    print(header)
    print("-" * len(header))
    medians = []
    for name in names:
        med = statistics.median(rss[name])
        medians.append((name, med))
        print(f"{name:32} {med:10.1f} {min(rss[name]):7.1f} {max(rss[name]):7.1f} "
              f"{med / LIMIT_MIB:9.2f} {statistics.median(wall[name]):7.2f}")
    if not torch_installed():
        print('(torch is not installed: no "import torch" row)')
    if os.path.exists("/usr/bin/time"):  # a cross-check of the measurement by another tool
        name = names[0]
        result = subprocess.run(["/usr/bin/time", "-f", "%M"] + commands[name], capture_output=True, text=True)
        kib = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "?"
        if kib.isdigit():
            print(f"cross-check: /usr/bin/time -f %M {name}: {int(kib) / 1024:.1f} MiB (one run)")
    worst = max(med for name, med in medians if name.startswith("scratchnet"))
    print(f"target 4a: scratchnet train on mnist-sample <= {LIMIT_MIB:.0f} MiB -> {worst:.1f} MiB "
          f"({worst / LIMIT_MIB:.2f} of the limit): {'PASS' if worst <= LIMIT_MIB else 'FAIL'}")
    return medians


def history_sizes(session) -> dict[str, float]:
    """Sizes of what the session's history holds, and of what a snapshot and a checkpoint carry."""
    history = session._history  # the session's own MetricsHistory
    curve = history.loss
    snap = session.snapshot()
    state = history.state_dict()
    return {
        "loss-curve points": len(curve),
        "loss-curve stride (steps/point)": curve.stride,
        "loss-curve buffers, bytes": curve._steps.nbytes + curve._losses.nbytes,
        "evaluation records": len(history.evaluations),
        "speed-meter samples": len(history._rate_samples),
        "snapshot loss arrays, bytes": snap.loss_steps.nbytes + snap.losses.nbytes,
        "snapshot evaluations": len(snap.evaluations),
        "checkpoint history state, bytes": sum(array.nbytes for array in state.values()),
    }


def part_history(total_steps: int, per_call: int) -> None:
    import numpy as np

    from core.config import TrainConfig
    from core.metrics import EvalRecord
    from core.training import TrainingSession

    session = TrainingSession(TrainConfig(dataset="mnist-sample", steps=total_steps + per_call + 1, seed=0))
    history = session._history
    per_epoch = session.steps_per_epoch
    before = history_sizes(session)

    tracemalloc.start()
    t0 = time.perf_counter()
    chunk = 1_000_000
    rng = np.random.default_rng(0)
    for first in range(1, total_steps + 1, chunk):
        last = min(first + chunk, total_steps + 1)
        steps = np.arange(first, last)
        history.loss.extend(steps, 2.3 * np.exp(-steps / 1e6) + 0.05 * rng.random(len(steps)))
        for step in range(first - 1 + (-(first - 1)) % 100, last, 100):  # a tick every 100 steps
            if step:
                history.tick(step, step / 2000.0)
        for step in range(first + (-first) % per_epoch, last, per_epoch):  # an evaluation per epoch
            history.add_evaluation(EvalRecord(step, step / per_epoch, 0.3, 0.9, 0.32, 0.89, step / 2000.0))
    bulk_seconds = time.perf_counter() - t0
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    after_bulk = history_sizes(session)
    t0 = time.perf_counter()
    for step in range(total_steps + 1, total_steps + per_call + 1):
        history.add_loss(step, 0.1)
    call_seconds = time.perf_counter() - t0
    after = history_sizes(session)
    session._step = total_steps + per_call  # so that the snapshot reads as the run's
    assert history.loss.last_step == total_steps + per_call

    print(f"MetricsHistory of a TrainingSession (mnist-sample, {per_epoch} steps per epoch) fed "
          f"{total_steps:,} steps in bulk ({bulk_seconds:.1f} s), then {per_call:,} add_loss calls "
          f"({call_seconds:.1f} s, {1e9 * call_seconds / max(per_call, 1):.0f} ns per call)")
    cols = ("new session", f"{total_steps:,} steps", f"+{per_call:,} add_loss")
    header = f"{'':34} {cols[0]:>14} {cols[1]:>16} {cols[2]:>18}"
    print(header)
    print("-" * len(header))
    for key in before:
        print(f"{key:34} {before[key]:14,.0f} {after_bulk[key]:16,.0f} {after[key]:18,.0f}")
    print(f"Python allocations during the bulk part (tracemalloc peak, including the 1M-step input chunks): "
          f"{traced_peak / 2**20:.1f} MiB")
    bounded = (after["loss-curve points"] <= 2049 and after["evaluation records"] <= 4096
               and after["loss-curve buffers, bytes"] == before["loss-curve buffers, bytes"])
    print(f"target 4b: the history stays bounded over {total_steps + per_call:,} steps -> "
          f"{after['loss-curve points']:,.0f} loss points, {after['evaluation records']:,.0f} evaluation records, "
          f"{after['checkpoint history state, bytes'] / 1024:.0f} KiB of state: {'PASS' if bounded else 'FAIL'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog="Reproduce: python benchmarks/bench_memory.py")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds of the commands (default 3)")
    parser.add_argument("--history-steps", type=int, default=10_000_000,
                        help="steps fed to the history in bulk (default 10,000,000)")
    parser.add_argument("--per-call", type=int, default=1_000_000,
                        help="further steps fed one add_loss call at a time (default 1,000,000)")
    parser.add_argument("--skip-rss", action="store_true", help="only the history part")
    args = parser.parse_args()
    if not args.skip_rss:
        part_rss(args.repeats)
        print()
    part_history(args.history_steps, args.per_call)


if __name__ == "__main__":
    main()
