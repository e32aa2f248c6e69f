"""The files `scratchnet train` writes (--save, --metrics): checked before any work starts, never
replacing what is not ScratchNet's unless asked, written whole or not at all, each written even when
the other fails."""

import json
import os
import resource
import stat

import pytest

from core.checkpoint import load_checkpoint
from core.metrics import CSV_HEADER, is_metrics_file
from tests.cli_driving import CIRCLE, ok, scratchnet

QUICK = [*CIRCLE, "--steps", "5"]

#: Output paths that cannot be used, made in a test's folder: (id, path from tmp_path, what the message says).
BAD_PATHS = [
    ("empty", lambda tmp: "", "the name is empty"),
    ("trailing slash", lambda tmp: f"{tmp}/run/", "names a folder"),
    ("a folder", lambda tmp: str(tmp), "is a folder"),
    ("a device", lambda tmp: os.devnull, "is a device"),
    ("a FIFO", lambda tmp: make_fifo(tmp / "pipe"), "is a pipe (FIFO)"),
    ("an unknown user's home", lambda tmp: "~nosuchuserxyz/run", "~nosuchuserxyz is not a user's home folder"),
    ("too long a name", lambda tmp: str(tmp / ("a" * 250)), "the name is too long"),
    ("a missing folder", lambda tmp: str(tmp / "missing" / "run"), "does not exist"),
]


def make_fifo(path) -> str:
    os.mkfifo(path)
    return str(path)


@pytest.mark.parametrize("flag", ["--save", "--metrics"])
@pytest.mark.parametrize("case, make_path, fragment", BAD_PATHS, ids=[case for case, *_ in BAD_PATHS])
def test_an_unusable_output_path_is_refused_before_any_work(tmp_path, flag, case, make_path, fragment):
    path = make_path(tmp_path)
    result = ok(scratchnet("train", *QUICK, flag, path, timeout=60), code=2)
    message, = result.stderr.splitlines()  # one line, and no progress line: no training happened
    assert message.startswith("scratchnet train: error: ") and fragment in message, message
    assert not path or message.count(path) == 1, message  # the file is named once
    assert result.stdout == ""
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)  # (as root, it was once replaced by a checkpoint)


@pytest.mark.parametrize("flag, what", [("--save", "checkpoint"), ("--metrics", "metrics file")])
def test_a_file_that_is_not_ours_is_replaced_only_with_overwrite(tmp_path, flag, what):
    path = tmp_path / "notes.txt"
    path.write_text("a student's notes\n")
    refused = ok(scratchnet("train", *QUICK, flag, str(path)), code=2)
    assert f"{what} {path}: a file of that name exists and is not a ScratchNet {what}" in refused.stderr
    assert "pass --overwrite" in refused.stderr and "step" not in refused.stderr
    assert path.read_text() == "a student's notes\n"

    ok(scratchnet("train", *QUICK, flag, str(path), "--overwrite"))
    assert (load_checkpoint(path).step == 5) if what == "checkpoint" else is_metrics_file(path)


def test_our_own_files_are_replaced_without_asking(tmp_path):
    checkpoint, metrics = tmp_path / "run.npz", tmp_path / "metrics.csv"
    for steps in ("5", "7"):
        ok(scratchnet("train", *CIRCLE, "--steps", steps, "--eval-every", "1",
                      "--save", str(checkpoint), "--metrics", str(metrics)))
    assert load_checkpoint(checkpoint).step == 7
    assert len(metrics.read_text().splitlines()) == 1 + 7


@pytest.mark.parametrize("save, metrics", [("run.npz", "run.npz"), ("run.npz", "./sub/../run.npz")])
def test_two_outputs_naming_one_file_are_refused(tmp_path, save, metrics):
    (tmp_path / "sub").mkdir()
    ok(scratchnet("train", *QUICK, "--save", str(tmp_path / "run.npz")))  # an existing checkpoint, ours
    result = ok(scratchnet("train", *QUICK, "--save", str(tmp_path / save), "--metrics",
                           str(tmp_path / metrics), "--overwrite"), code=2)
    assert "the checkpoint and the metrics file would both be written to" in result.stderr
    assert load_checkpoint(tmp_path / "run.npz").step == 5


def test_the_resumed_checkpoint_may_be_the_save_target(tmp_path):
    path = str(tmp_path / "run.npz")
    ok(scratchnet("train", *QUICK, "--save", path))
    ok(scratchnet("train", "--resume", path, "--steps", "9", "--save", path))
    assert load_checkpoint(path).step == 9


def test_a_metrics_file_is_known_by_its_first_line_alone(tmp_path):
    path = tmp_path / "m.csv"
    for text, ours in [(CSV_HEADER + "\n", True), (CSV_HEADER + "\r\n10,1.0,0.5", True), (CSV_HEADER, True),
                       ("", False), ("step,epoch\n", False), (CSV_HEADER + ",extra\n", False),
                       ("x" + CSV_HEADER + "\n", False)]:
        path.write_text(text, newline="")
        assert is_metrics_file(path) is ours, text
    path.write_bytes(CSV_HEADER.encode() + b"\n" + b"\xff" * 10_000_000)  # what follows is not read
    assert is_metrics_file(path)
    assert not is_metrics_file(tmp_path / "missing.csv")


# ---------------------------------------------------------------------- a disk that fills up


def file_size_limit(limit: int):
    """A preexec_fn: files the child writes may grow to `limit` bytes (a disk that is full past that)."""
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_a_full_disk_keeps_the_old_metrics_file_whole(tmp_path):
    path = tmp_path / "metrics.csv"
    ok(scratchnet("train", *CIRCLE, "--steps", "3", "--eval-every", "1", "--metrics", str(path)))
    before = path.read_bytes()
    result = ok(scratchnet("train", *CIRCLE, "--steps", "100", "--eval-every", "1", "--metrics", str(path),
                           "--json", preexec_fn=file_size_limit(len(before) + 100)), code=1)
    assert path.read_bytes() == before  # not a truncated new file
    assert f"cannot write metrics to {path}" in result.stderr and result.stderr.count(str(path)) == 1
    assert json.loads(result.stdout)["steps"] == 100
    assert os.listdir(tmp_path) == ["metrics.csv"]  # no temporary file left


def test_a_save_that_fails_still_writes_the_metrics_and_the_summary(tmp_path):
    checkpoint, metrics = tmp_path / "run.npz", tmp_path / "metrics.csv"
    result = ok(scratchnet("train", "--hidden", "50", "--steps", "3", "--eval-every", "1",
                           "--save", str(checkpoint), "--metrics", str(metrics), "--json",
                           preexec_fn=file_size_limit(64 * 1024)), code=1)  # the 784-50-10 checkpoint is bigger
    assert f"cannot save a checkpoint to {checkpoint}" in result.stderr and result.stderr.count(str(checkpoint)) == 1
    summary = json.loads(result.stdout)
    assert summary["state"] == "finished" and summary["steps"] == 3 and summary["checkpoint"] is None
    assert len(metrics.read_text().splitlines()) == 1 + 3
    assert sorted(os.listdir(tmp_path)) == ["metrics.csv"]
