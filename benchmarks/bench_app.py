"""What the app with its charts live costs the training session, measured side by side (issue 6, target 3b).

    python benchmarks/bench_app.py [--rounds 30] [--window 1.0] [--refresh-hz 4]

Three processes keep one long run each, all the same run (mnist-sample, 784-100-10, float32, SGD lr 0.1,
batch 100, evaluated every epoch of 80 steps), and take turns training for --window seconds while the
other two are paused:
- session:       TrainingSession.run() in a thread of its own; paused and resumed with its own calls.
- app, loss:     ScratchNetApp(config, refresh_hz) headless at 120x40 (App.run_test), the loss chart on
                 screen, paused and resumed with the app's own action (toggle_run, the space key): its
                 worker thread trains while the UI thread polls the snapshot at refresh_hz and redraws
                 the status bar and the chart (at most once a second).
- app, accuracy: the same with the accuracy chart on screen (key 2).
A round gives each one window, in an order that rotates. This machine's speed drifts by up to 2x over
seconds, so whole runs one after another compare badly; windows a second apart compare well. Each
app window is compared with the session window of its round: cost = 1 - app steps/s / session steps/s.
The table gives the median and quartiles of that cost over the rounds, and a steadier figure beside it:
the share of each window in which the training thread was not running (its own CPU clock against the
wall clock), which does not move with the machine's speed. In the app that is mostly waiting for the
interpreter lock while the UI thread runs Python. A window starts --settle
seconds after the resume, so that the redraw a resume causes (state, key bindings) is not counted:
what is measured is training with the app on screen.

Headless means Textual lays out and renders every widget (the charts' drawing, the compositor) but
skips turning the frame into escape codes and writing them to a terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import os
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

from machine_load import cpu_ticks, others_share, own_cpu_seconds  # noqa: E402

from core.config import TrainConfig  # noqa: E402

SIZE = (120, 40)
VARIANTS = ("session", "app, loss", "app, accuracy")


def the_config() -> TrainConfig:
    return TrainConfig(dataset="mnist-sample", hidden=(100,), optimizer="sgd", lr=0.1, batch_size=100,
                       dtype="float32", steps=10**9, eval_every=0, seed=0)


class Trainer:
    """Records which thread runs TrainingSession.run(), to read that thread's CPU clock."""

    def __init__(self) -> None:
        from core.training import TrainingSession

        self.ident: int | None = None
        run = TrainingSession.run

        def recording_run(session):
            self.ident = threading.get_ident()
            return run(session)

        TrainingSession.run = recording_run  # this child process's own copy of the class

    def cpu_time(self) -> float:
        return time.clock_gettime(time.pthread_getcpuclockid(self.ident))


def window_start(snapshot, trainer: Trainer) -> tuple[int, float, float, float]:
    """(step, wall clock, this thread's CPU clock, the training thread's CPU clock) now."""
    return snapshot().step, time.perf_counter(), time.thread_time(), trainer.cpu_time()


def window_end(snapshot, trainer: Trainer, start: tuple[int, float, float, float]) -> tuple[float, float, float]:
    """Since `start`: (steps/s, CPU seconds per second of this thread and of the training thread).

    The CPU clocks are read inside the wall-clock interval, at both ends, so that a thread that ran
    all the time reads at most 1 CPU s per s."""
    step, wall, cpu, trainer_cpu = start
    trainer_cpu = trainer.cpu_time() - trainer_cpu
    cpu = time.thread_time() - cpu
    steps = snapshot().step - step
    wall = time.perf_counter() - wall
    return steps / wall, cpu / wall, trainer_cpu / wall


def session_child(conn, settle: float, window: float) -> None:
    """Answers each "go" with one window of a bare session's training."""
    from core.training import TrainingSession, load_data

    trainer = Trainer()
    config = the_config()
    session = TrainingSession(config, load_data(config))
    threading.Thread(target=session.run, daemon=True).start()
    conn.send("ready")
    while conn.recv() == "go":
        session.start()
        time.sleep(settle)
        start = window_start(session.snapshot, trainer)
        time.sleep(window)
        rate, _, trainer_cpu = window_end(session.snapshot, trainer, start)
        session.pause()
        conn.send((rate, 0.0, trainer_cpu, 0))
    session.stop()


def app_child(conn, view: str, refresh_hz: float, settle: float, window: float) -> None:
    """Answers each "go" with one window of the headless app's training, `view` on screen."""
    from tui.app import ScratchNetApp

    trainer = Trainer()

    async def serve() -> None:
        app = ScratchNetApp(the_config(), refresh_hz=refresh_hz)
        polls = 0
        poll = app.poll

        def counting_poll() -> None:
            nonlocal polls
            polls += 1
            poll()

        app.poll = counting_poll  # type: ignore[method-assign]  # (the timer is set in on_mount, after this)
        loop = asyncio.get_running_loop()
        async with app.run_test(size=SIZE):
            while app.session is None or app.loading:
                await asyncio.sleep(0.05)
            await app.run_action(f"view('{view}')")
            await asyncio.sleep(0.3)
            conn.send("ready")
            # the pipe is read in a thread of its own: the UI thread stays free between windows
            while await loop.run_in_executor(None, conn.recv) == "go":
                await app.run_action("toggle_run")  # the space key: start or resume
                if app.session.snapshot().state != "training":
                    raise RuntimeError(f"the app did not train: {app.session.snapshot().message}")
                await asyncio.sleep(settle)
                start, polls_before = window_start(app.session.snapshot, trainer), polls
                await asyncio.sleep(window)
                rate, ui_cpu, trainer_cpu = window_end(app.session.snapshot, trainer, start)
                await app.run_action("toggle_run")  # pause
                conn.send((rate, ui_cpu, trainer_cpu, polls - polls_before))
            if view == "loss" and not len(app.main.query_one("#view-loss").steps):
                raise RuntimeError("the loss chart drew nothing")
            app.session.stop()

    asyncio.run(serve())


def quartiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog="Reproduce: python benchmarks/bench_app.py")
    parser.add_argument("--rounds", type=int, default=30, help="rounds of one window each (default 30)")
    parser.add_argument("--window", type=float, default=1.0, help="seconds of training measured per window (default 1)")
    parser.add_argument("--settle", type=float, default=0.3, help="seconds after a resume before the window starts (default 0.3)")
    parser.add_argument("--refresh-hz", type=float, default=4.0, help="the app's snapshot polls per second (default 4)")
    args = parser.parse_args()

    context = multiprocessing.get_context("spawn")
    pipes, children = {}, []
    for name in VARIANTS:
        mine, theirs = context.Pipe()
        if name == "session":
            child = context.Process(target=session_child, args=(theirs, args.settle, args.window))
        else:
            child = context.Process(target=app_child,
                                    args=(theirs, name.split(", ")[1], args.refresh_hz, args.settle, args.window))
        child.start()
        pipes[name] = mine
        children.append(child)
    for name, pipe in pipes.items():
        if not pipe.poll(120):
            raise SystemExit(f"{name}: not ready after 120 s")
        pipe.recv()

    rates: dict[str, list[float]] = {name: [] for name in VARIANTS}
    ui_cpu: dict[str, list[float]] = {name: [] for name in VARIANTS[1:]}
    waiting: dict[str, list[float]] = {name: [] for name in VARIANTS}
    polls: dict[str, list[int]] = {name: [] for name in VARIANTS[1:]}
    machine, own = cpu_ticks(), own_cpu_seconds()
    try:
        for r in range(args.rounds):
            for name in VARIANTS[r % 3:] + VARIANTS[:r % 3]:  # the order rotates
                pipes[name].send("go")
                if not pipes[name].poll(60):
                    raise SystemExit(f"{name}: no answer to a window within 60 s")
                rate, cpu, trainer_cpu, n_polls = pipes[name].recv()
                rates[name].append(rate)
                # the CPU and wall clocks are not the same clock: a thread that never waited can read
                # a hair over 1 CPU s per s, which is no waiting, not a negative share
                waiting[name].append(100 * max(0.0, 1 - trainer_cpu))
                if name != "session":
                    ui_cpu[name].append(100 * cpu)
                    polls[name].append(n_polls)
            print(f"  round {r + 1}/{args.rounds}: " + ", ".join(f"{n} {rates[n][-1]:.0f}" for n in VARIANTS)
                  + " steps/s", file=sys.stderr)
    finally:
        for pipe in pipes.values():
            pipe.send("end")
        for child in children:
            child.join(30)
    load = others_share(machine, own_cpu_seconds() - own)

    print(f"mnist-sample, 784-100-10, float32, SGD, batch 100; {args.rounds} rounds of a {args.window:g} s window "
          f"per variant ({args.settle:g} s after each resume); app headless {SIZE[0]}x{SIZE[1]}, "
          f"refresh_hz={args.refresh_hz:g}")
    print()
    header = f"{'':15} {'median steps/s':>14} {'min':>7} {'max':>7} {'cost %: median':>15} {'quartiles':>14} {'waiting %':>10} {'UI CPU %':>9} {'polls/s':>8}"
    print(header)
    print("-" * len(header))
    worst = -math.inf  # the costlier view; a negative cost (noise) is printed as it is
    for name in VARIANTS:
        values = rates[name]
        line = f"{name:15} {statistics.median(values):14.0f} {min(values):7.0f} {max(values):7.0f}"
        if name == "session":
            line += f" {'':15} {'':14} {statistics.median(waiting[name]):10.1f}"
        else:
            costs = [100 * (1 - app / session) for app, session in zip(values, rates["session"])]
            q1, median, q3 = quartiles(costs)
            worst = max(worst, median)
            line += (f" {median:15.1f} {q1:6.1f}..{q3:<6.1f} {statistics.median(waiting[name]):10.1f}"
                     f" {statistics.median(ui_cpu[name]):9.1f}"
                     f" {statistics.median(polls[name]) / args.window:8.1f}")
        print(line)
    print()
    print("cost %: 1 - app / session, each app window against the session window of its round; "
          "waiting %: the share of the window in which the training thread was not running (1 - its CPU s "
          "per s; waiting for the interpreter lock, or for a core), the median over rounds: unlike steps/s it does "
          "not move with the machine's speed; UI CPU %: the app's event-loop thread, CPU s per s of the window.")
    print(f"target 3b: the app costs <= 10% of the session's steps/s -> worst view, median over rounds: "
          f"{worst:.1f}%: {'PASS' if worst <= 10 else 'FAIL'}")
    print(load + ".")


if __name__ == "__main__":
    main()
