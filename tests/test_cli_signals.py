"""SIGTERM and SIGHUP (a `kill`, an SSH connection dropping) stop `scratchnet train` as Ctrl-C does:
the run stops cleanly, is saved when --save was given, the summary is printed, and the exit code
is 128 + the signal's number. (Ctrl-C itself: tests/test_cli.py and tests/test_faults.py.)"""

import json
import os
import shutil
import signal
import subprocess
import sys

import pytest

from core.checkpoint import load_checkpoint
from tests.cli_driving import CIRCLE, ENV, interrupt_training, scratchnet

ENDLESS = [*CIRCLE, "--steps", "100000000"]


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_stop_signal_saves_prints_the_summary_and_exits_128_plus_its_number(tmp_path, signum, code):
    checkpoint, metrics = tmp_path / "run.npz", tmp_path / "metrics.csv"
    exit_code, stdout, stderr = interrupt_training(
        [*ENDLESS, "--save", str(checkpoint), "--metrics", str(metrics), "--json"], cwd=tmp_path, signum=signum)
    assert exit_code == code, stderr
    assert "Traceback" not in stderr and f"stopping ({signum.name})" in stderr
    summary = json.loads(stdout)
    assert summary["state"] == "stopped" and summary["checkpoint"] == str(checkpoint)
    assert load_checkpoint(checkpoint).step == summary["steps"] > 0
    assert metrics.read_text().startswith("step,")


def test_signals_again_and_again_while_stopping_still_save(tmp_path):
    checkpoint = tmp_path / "run.npz"
    args = ["--dataset", "mnist-sample", "--hidden", "300", "--batch-size", "10", "--steps", "100000000",
            "--eval-every", "100000000", "--save", str(checkpoint)]
    code, _, stderr = interrupt_training(args, cwd=tmp_path, signals=500, interval=0.002, signum=signal.SIGTERM)
    assert code == 143, stderr
    assert "Traceback" not in stderr and load_checkpoint(checkpoint).step > 0


def test_a_save_whose_folder_vanished_during_the_run_still_writes_the_metrics(tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    checkpoint, metrics = folder / "run.npz", tmp_path / "metrics.csv"
    code, stdout, stderr = interrupt_training(
        [*ENDLESS, "--eval-every", "5", "--save", str(checkpoint), "--metrics", str(metrics), "--json"],
        cwd=tmp_path, signum=signal.SIGTERM, started=lambda: shutil.rmtree(folder))
    assert code == 1, stderr
    assert "Traceback" not in stderr and f"cannot save a checkpoint to {checkpoint}" in stderr
    summary = json.loads(stdout)
    assert summary["state"] == "stopped" and summary["checkpoint"] is None
    assert metrics.read_text().startswith("step,") and os.listdir(tmp_path) == ["metrics.csv"]


def test_under_nohup_a_hangup_is_still_ignored(tmp_path):
    """`nohup scratchnet train` ignores SIGHUP: the run goes on until something else stops it."""
    def as_under_nohup() -> None:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    process = subprocess.Popen([sys.executable, "-m", "tui.cli", "train", *ENDLESS, "--json"], cwd=tmp_path,
                               env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=as_under_nohup)
    try:
        assert "step" in process.stderr.readline()  # training has started
        process.send_signal(signal.SIGHUP)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 143 and "stopping (SIGTERM)" in stderr, stderr
    assert json.loads(stdout)["state"] == "stopped"


def test_the_exit_codes_are_documented():
    help_text = " ".join(scratchnet("train", "--help").stdout.split())
    assert all(code in help_text for code in ("130 Ctrl-C", "143 SIGTERM", "129 SIGHUP"))
