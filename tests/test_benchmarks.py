"""The benchmark scripts keep working: each answers --help, and the step and app benchmarks finish a
tiny run with their tables and verdicts. Nothing here judges a time: the figures are the scripts'
to print (benchmarks/README.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "benchmarks").glob("bench_*.py"))


def run(script: str, *args: str, timeout: float = 120) -> str:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_every_benchmark_is_found():
    assert {"bench_step.py", "bench_app.py", "bench_session.py", "bench_numerical.py"} <= {p.name for p in SCRIPTS}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_benchmark_answers_help(script):
    assert "usage:" in run(script.name, "--help")


def test_step_benchmark_compares_the_engine_with_the_numpy_floor_and_the_ceiling():
    out = run("bench_step.py", "--repeats", "1", "--steps", "3")
    for line in ("scratchnet / gemm-only:", "scratchnet / numpy-floor:", "numpy-floor / gemm-only:"):
        assert line in out


def test_app_benchmark_takes_turns_between_the_session_and_the_app():
    out = run("bench_app.py", "--rounds", "1", "--window", "0.3", "--settle", "0.1")
    assert "waiting %" in out and "target 3b" in out
    table = [line for line in out.splitlines() if line.startswith(("session ", "app, loss ", "app, accuracy "))]
    assert len(table) == 3
    session, *apps = table
    assert 0 <= float(session.split()[-1]) <= 100  # waiting %: a share, never "-0.0" (CI once saw that)
    for row in apps:
        waiting, ui_cpu, polls_per_second = map(float, row.split()[-3:])
        assert 0 <= waiting <= 100 and 0 <= ui_cpu <= 100 and polls_per_second >= 0
