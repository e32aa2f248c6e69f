"""Screenshots of the real app for the README: trains, pauses, and saves SVGs of its views.

    python docs/make_screenshots.py        # writes docs/*.svg

Each shot runs ScratchNetApp headless at 100x30 (80x24 for one), drives it with its own actions,
waits for the session to reach a step, pauses, and lets the views catch up before saving.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from core.config import TrainConfig
from tui.app import ScratchNetApp

HERE = Path(__file__).parent


async def shot(name: str, config: TrainConfig, view: str, steps: int, size=(100, 30), gradcheck=False) -> None:
    app = ScratchNetApp(config=config, refresh_hz=8)
    async with app.run_test(size=size) as pilot:
        await app.run_action("toggle_run('start')")
        deadline = time.monotonic() + 120
        while app.session is None or app.session.snapshot().step < steps:
            assert time.monotonic() < deadline, "training did not reach the step"
            await pilot.pause(0.1)
        await app.run_action("toggle_run('pause')")
        await app.run_action(f"view('{view}')")
        if gradcheck:
            await app.run_action("gradcheck")
            while app.workers._workers and any(w.group == "gradcheck" for w in app.workers._workers):
                await pilot.pause(0.1)
        if view == "weights":
            await app.run_action("refresh_weights")
        await pilot.pause(1.0)
        app.save_screenshot(str(HERE / f"{name}.svg"))


async def main() -> None:
    mnist = TrainConfig(hidden=(100,), epochs=3)
    await shot("loss", mnist, "loss", 200)
    # small initial weights, so that what training draws into them stands out
    await shot("weights", mnist.replace(weight_init=0.01, epochs=10), "weights", 800)
    await shot("gradcheck", mnist, "gradcheck", 50, gradcheck=True)
    spiral = TrainConfig(dataset="spiral", hidden=(16, 16), activation="tanh", optimizer="adam", lr=0.02,
                         batch_size=10, epochs=400, noise=0.1)
    await shot("decision", spiral, "decision", 4000)
    await shot("small-terminal", mnist, "loss", 200, size=(80, 24))


if __name__ == "__main__":
    asyncio.run(main())
