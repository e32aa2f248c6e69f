"""Running `scratchnet` in a subprocess, as a user does (one BLAS thread), and pressing Ctrl-C at it:
shared by the CLI and the fault tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[1])
#: The environment of a `scratchnet` subprocess: one BLAS thread; the project importable from anywhere.
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": ROOT}
#: A quick run for `scratchnet train`: a small 2-D problem, a small network.
CIRCLE = ["--dataset", "circle", "--n-samples", "200", "--hidden", "8", "--batch-size", "10"]


def _sigint_as_at_a_terminal() -> None:
    """In the child before exec: SIGINT's default action. A test run from a script's background job
    (`pytest &`) inherits SIGINT ignored, which `scratchnet train` rightly keeps ignoring: the
    presses below would then do nothing and the run would go on for hours."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interrupt_training(args: list[str], cwd, signals: int = 1, interval: float = 0.0,
                       until=lambda: False) -> tuple[int, str, str]:
    """`scratchnet train ARGS` in a subprocess: once training has started, `signals` SIGINTs,
    `interval` seconds apart (until it exits or until() is true). Returns (exit code, stdout, stderr)."""
    process = subprocess.Popen([sys.executable, "-m", "tui.cli", "train", *args], cwd=cwd, env=ENV,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=_sigint_as_at_a_terminal)
    try:
        first = process.stderr.readline()
        assert "step" in first, first + process.stderr.read()  # training has started
        time.sleep(0.2)
        for _ in range(signals):
            if process.poll() is not None or until():
                break
            process.send_signal(signal.SIGINT)
            time.sleep(interval)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
        process.wait()
    return process.returncode, stdout, first + stderr
