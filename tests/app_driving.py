"""Waiting on the app under test: shared by the functional and the monkey tests."""

from __future__ import annotations

import time


async def wait_for(pilot, condition, timeout: float = 10.0, what: str = "condition", poll: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(poll)


async def ready(pilot, settle: float = 0.1):
    """Wait until the app has loaded its data and built its session; returns the app."""
    app = pilot.app
    await wait_for(pilot, lambda: app.session is not None and not app.loading, what="the session")
    await pilot.pause(settle)
    return app


async def stop(pilot) -> None:
    """End the run with the app's own action and wait until the session has ended: a key sent just
    before a test's end could still be queued when the app shuts down."""
    from core.training import ENDED

    app = pilot.app
    await app.run_action("stop")
    await wait_for(pilot, lambda: app.session is None or app.session.snapshot().state in ENDED, what="the stop")
