"""What the app with its charts live costs the training session, measured side by side (issue 6, target 3b).

    python benchmarks/bench_app.py [--steps 10000] [--repeats 5] [--refresh-hz 4]

All variants train the same run: mnist-sample, 784-100-10, float32, SGD lr 0.1, batch 100, --steps
steps, evaluating at the end of every epoch (eval_every=0, the default: 80 steps per epoch here).
- session:      TrainingSession.run() in this thread, nothing else running.
- app, loss:    ScratchNetApp(config, refresh_hz) headless at 120x40 (App.run_test), the loss chart on
                screen; training started with the app's own action (toggle_run, the space key), the
                session run by the app's worker thread while the UI thread polls its snapshot at
                refresh_hz and redraws the chart and status bar.
- app, accuracy: the same with the accuracy chart on screen (key 2).
Speed is the session's own figure in every variant: steps done / seconds of training (the final
snapshot's step and elapsed; elapsed counts training only, not loading the data or building the app).
Repetitions are interleaved (the order rotates each round); the table gives medians and the app's cost
as 1 - app / session of the medians, and per round (each app run against the session run of its round).
A second table leaves out the first second of training: its steps/s run from the first evaluation after
1 s to the last one (starting a run in the app redraws much of the screen once, a cost of its own).

Headless means Textual lays out and renders every widget (the charts' drawing, the compositor) but
skips turning the frame into escape codes and writing them to a terminal; see the note it prints.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

from machine_load import cpu_ticks, others_share, own_cpu_seconds  # noqa: E402

from core.config import TrainConfig  # noqa: E402
from core.training import ENDED, TrainingSession, load_data  # noqa: E402
from tui.app import ScratchNetApp  # noqa: E402

SIZE = (120, 40)


#: Seconds of training after which the steady rate is measured: starting a run in the app redraws
#: much of the screen (the footer's keys, the form greyed out), a one-off cost kept apart.
STEADY_AFTER = 1.0


def steady_rate(snapshot) -> float:
    """Steps/s between the first evaluation after STEADY_AFTER seconds of training and the last
    (nan for a run too short to have two)."""
    later = [e for e in snapshot.evaluations if e.elapsed >= STEADY_AFTER]
    if len(later) < 2:
        return math.nan
    return (later[-1].step - later[0].step) / (later[-1].elapsed - later[0].elapsed)


def run_session(config: TrainConfig, dataset) -> tuple[float, int, float, float]:
    """(steps/s, steps, elapsed, steady steps/s) of a bare TrainingSession.run() in this thread."""
    session = TrainingSession(config, dataset)
    session.start()
    final = session.run()
    assert final.state == "finished", final.message
    return final.step / final.elapsed, final.step, final.elapsed, steady_rate(final)


async def run_app(config: TrainConfig, view: str, refresh_hz: float,
                  timeout: float) -> tuple[float, int, float, int, float, float]:
    """(steps/s, steps, elapsed, polls, UI CPU share, steady steps/s) of the same run trained in the headless app with
    `view` on screen. UI CPU share: CPU seconds of this thread (the app's event loop) per wall-clock
    second, from the start action until the end of the run is seen (within 0.1 s).

    The waits below are plain asyncio sleeps: Pilot.pause() would also force a screen refresh each
    time, work the app does not do on its own."""
    app = ScratchNetApp(config, refresh_hz=refresh_hz)
    polls = 0
    poll = app.poll

    def counting_poll() -> None:
        nonlocal polls
        polls += 1
        poll()

    app.poll = counting_poll  # type: ignore[method-assign]  # (the timer is set in on_mount, after this)
    async with app.run_test(size=SIZE):
        deadline = time.monotonic() + timeout
        while app.session is None or app.loading:
            if time.monotonic() > deadline:
                raise RuntimeError("the app did not build its session in time")
            await asyncio.sleep(0.05)
        session = app.session
        if session.config != config:
            raise RuntimeError(f"the app's session has another config: {session.config} != {config}")
        await app.run_action(f"view('{view}')")
        await asyncio.sleep(0.2)
        cpu, wall = time.thread_time(), time.perf_counter()
        await app.run_action("toggle_run")  # what the space key does: start the run
        while session.snapshot().state not in ENDED:
            if time.monotonic() > deadline:
                raise RuntimeError("the app's run did not finish in time")
            await asyncio.sleep(0.1)
        cpu = (time.thread_time() - cpu) / (time.perf_counter() - wall)
        final = session.snapshot()
        if final.state != "finished":
            raise RuntimeError(f"the app's run ended {final.state}: {final.message}")
        await asyncio.sleep(0.3)  # the last poll draws the finished run
        if view == "loss" and not len(app.main.query_one("#view-loss").steps):
            raise RuntimeError("the loss chart drew nothing")
    return final.step / final.elapsed, final.step, final.elapsed, polls, cpu, steady_rate(final)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog="Reproduce: python benchmarks/bench_app.py")
    parser.add_argument("--steps", type=int, default=10000,
                        help="training steps per run (default 10000: some seconds, so that starting and ending "
                             "the run, which redraws the whole screen, is not most of what is measured)")
    parser.add_argument("--repeats", type=int, default=5, help="rounds of the three variants (default 5)")
    parser.add_argument("--refresh-hz", type=float, default=4.0, help="the app's snapshot polls per second (default 4)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds allowed per app run")
    args = parser.parse_args()

    config = TrainConfig(dataset="mnist-sample", hidden=(100,), optimizer="sgd", lr=0.1, batch_size=100,
                         dtype="float32", steps=args.steps, eval_every=0, seed=0)
    dataset = load_data(config)
    variants = ["session", "app, loss", "app, accuracy"]
    speeds: dict[str, list[float]] = {name: [] for name in variants}
    polls: dict[str, list[int]] = {name: [] for name in variants}
    ui_cpu: dict[str, list[float]] = {name: [] for name in variants}
    cost_per_round: dict[str, list[float]] = {name: [] for name in variants[1:]}
    steady: dict[str, list[float]] = {name: [] for name in variants}
    steady_cost_per_round: dict[str, list[float]] = {name: [] for name in variants[1:]}

    run_session(config.replace(steps=min(args.steps, 200)), dataset)  # warm-up: imports, caches
    machine, own = cpu_ticks(), own_cpu_seconds()
    for r in range(args.repeats):
        order = variants[r % 3:] + variants[:r % 3]
        this_round: dict[str, float] = {}
        for name in order:
            if name == "session":
                rate, steps, elapsed, steady_speed = run_session(config, dataset)
            else:
                view = name.split(", ")[1]
                rate, steps, elapsed, n_polls, cpu, steady_speed = asyncio.run(
                    run_app(config, view, args.refresh_hz, args.timeout))
                polls[name].append(n_polls)
                ui_cpu[name].append(100 * cpu)
            speeds[name].append(rate)
            steady[name].append(steady_speed)
            this_round[name] = rate
            this_round["steady " + name] = steady_speed
            print(f"  round {r + 1}/{args.repeats}  {name:14} {rate:7.0f} steps/s  "
                  f"({steps} steps in {elapsed:.2f} s)", file=sys.stderr)
        for name in variants[1:]:
            cost_per_round[name].append(100 * (1 - this_round[name] / this_round["session"]))
            steady_cost_per_round[name].append(100 * (1 - this_round["steady " + name] / this_round["steady session"]))

    med = {name: statistics.median(values) for name, values in speeds.items()}
    epochs = args.steps / config.steps_per_epoch(dataset.n_train)
    print(f"mnist-sample, 784-100-10, float32, SGD, batch 100, {args.steps} steps ({epochs:.1f} epochs, "
          f"evaluated every epoch), {args.repeats} interleaved rounds")
    print(f"app: headless {SIZE[0]}x{SIZE[1]}, refresh_hz={args.refresh_hz:g}; steps/s = the session's step / elapsed")
    print()
    header = (f"{'':15} {'median steps/s':>14} {'min':>7} {'max':>7} {'ratio':>7} "
              f"{'cost %':>7} {'per round: median, max':>23} {'UI CPU %':>9}")
    print(header)
    print("-" * len(header))
    for name in variants:
        values = speeds[name]
        ratio = med[name] / med["session"]
        if name == "session":
            extra = f"{'':>7} {'':>23} {'':>9}"
        else:
            per = cost_per_round[name]
            extra = (f"{100 * (1 - ratio):7.1f} {statistics.median(per):14.1f}, {max(per):6.1f} "
                     f"{statistics.median(ui_cpu[name]):9.0f}")
        print(f"{name:15} {med[name]:14.0f} {min(values):7.0f} {max(values):7.0f} {ratio:7.3f} {extra}")
    print()
    steady_med = {name: statistics.median(values) for name, values in steady.items()}
    if any(math.isnan(v) for values in steady.values() for v in values):
        raise SystemExit(f"runs too short to measure a rate after their first {STEADY_AFTER:g} s: give more --steps")
    print(f"after the first {STEADY_AFTER:g} s of training (steps/s between evaluations; starting the run excluded):")
    for name in variants:
        ratio = steady_med[name] / steady_med["session"]
        extra = "" if name == "session" else (
            f"  cost {100 * (1 - ratio):5.1f}%  per round: median {statistics.median(steady_cost_per_round[name]):5.1f}%, "
            f"max {max(steady_cost_per_round[name]):5.1f}%")
        print(f"{name:15} {steady_med[name]:14.0f}  ratio {ratio:5.3f}{extra}")
    print()
    worst = max(100 * (1 - med[name] / med["session"]) for name in variants[1:])
    worst_steady = max(100 * (1 - steady_med[name] / steady_med["session"]) for name in variants[1:])
    print(f"target 3b: the app costs <= 10% of the session's steps/s -> worst view {worst:.1f}% over the whole "
          f"run: {'PASS' if worst <= 10 else 'FAIL'}; {worst_steady:.1f}% after the first {STEADY_AFTER:g} s: "
          f"{'PASS' if worst_steady <= 10 else 'FAIL'}")
    n_polls = [p for name in variants[1:] for p in polls[name]]
    print("ratio: median steps/s / the session's; cost %: 1 - ratio; per round: each app run against the "
          "session run of its round; UI CPU %: the app's event-loop thread, CPU s per s while training.")
    print(others_share(machine, own_cpu_seconds() - own) + ".")
    print(f"The app polled the session {statistics.median(n_polls):.0f} times per run (median). Headless: "
          "widgets and compositor render every frame; escape codes are not written.")


if __name__ == "__main__":
    main()
