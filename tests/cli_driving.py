"""Running `scratchnet` in a subprocess, as a user does (one BLAS thread), and pressing Ctrl-C at it
(or sending it SIGTERM or SIGHUP): shared by the CLI and the fault tests."""

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


def scratchnet(*args: str, timeout: float = 120, env: dict | None = None,
               preexec_fn=None) -> subprocess.CompletedProcess:
    """`scratchnet ARGS` run to its end (in ENV unless told, preexec_fn run in the child before it
    starts): exit code, stdout and stderr as text."""
    return subprocess.run([sys.executable, "-m", "tui.cli", *args], capture_output=True, text=True,
                          env=env or ENV, timeout=timeout, preexec_fn=preexec_fn)


def ok(result: subprocess.CompletedProcess, code: int = 0) -> subprocess.CompletedProcess:
    """`result`, once it is known to have exited with `code` and shown no traceback."""
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result


def _signals_as_at_a_terminal() -> None:
    """In the child before exec: the default action of SIGINT, SIGTERM and SIGHUP. A test run from a
    script's background job (`pytest &`) inherits SIGINT ignored, and one run under nohup SIGHUP,
    which `scratchnet train` rightly keeps ignoring: the signals below would then do nothing and the
    run would go on for hours."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


def interrupt_training(args: list[str], cwd, signals: int = 1, interval: float = 0.0,
                       until=lambda: False, signum: int = signal.SIGINT,
                       started=lambda: None) -> tuple[int, str, str]:
    """`scratchnet train ARGS` in a subprocess: once training has started, started() is called, then
    `signals` signals `signum` (Ctrl-C's SIGINT unless told) are sent, `interval` seconds apart (until
    it exits or until() is true). Returns (exit code, stdout, stderr)."""
    process = subprocess.Popen([sys.executable, "-m", "tui.cli", "train", *args], cwd=cwd, env=ENV,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=_signals_as_at_a_terminal)
    try:
        first = process.stderr.readline()
        assert "step" in first, first + process.stderr.read()  # training has started
        started()
        time.sleep(0.2)
        for _ in range(signals):
            if process.poll() is not None or until():
                break
            process.send_signal(signum)
            time.sleep(interval)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
        process.wait()
    return process.returncode, stdout, first + stderr
