"""core.files: outputs checked before work starts, atomic writes that clean up after interrupted ones,
inputs read within bounds."""

from __future__ import annotations

import fcntl
import os
import socket
import subprocess
import sys

import pytest

from core.files import (
    PathError, TEMP_EXTRA, atomic_write, check_distinct, check_output, open_input, read_input,
    remove_stale_temps,
)


def never_ours(path):
    return False


def test_a_new_file_in_an_existing_folder_is_fine(tmp_path):
    assert check_output(tmp_path / "run.npz", "checkpoint") == tmp_path / "run.npz"


@pytest.mark.parametrize("text, problem", [
    ("", "empty"),
    ("   ", "empty"),
    ("~no_such_user_xyz/run.npz", "home folder"),
])
def test_names_that_cannot_be_a_file(text, problem):
    with pytest.raises(PathError, match=problem):
        check_output(text, "checkpoint")


def test_a_trailing_slash_and_a_folder_are_refused(tmp_path):
    with pytest.raises(PathError, match="ends in /"):
        check_output(f"{tmp_path}/new/", "checkpoint")
    with pytest.raises(PathError, match="a folder"):
        check_output(tmp_path, "checkpoint")


def test_devices_fifos_and_sockets_are_refused(tmp_path):
    with pytest.raises(PathError, match="a device"):
        check_output("/dev/null", "checkpoint")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(PathError, match="FIFO"):
        check_output(fifo, "metrics")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tmp_path / "sock"))
        with pytest.raises(PathError, match="socket"):
            check_output(tmp_path / "sock", "config")


def test_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(PathError, match="does not exist"):
        check_output(tmp_path / "nowhere" / "run.npz", "checkpoint")


def test_a_name_too_long_once_the_temporary_suffix_is_added(tmp_path):
    limit = os.pathconf(tmp_path, "PC_NAME_MAX")
    fits = "a" * (limit - TEMP_EXTRA)
    assert check_output(tmp_path / fits, "checkpoint")
    with pytest.raises(PathError, match="too long"):
        check_output(tmp_path / (fits + "b"), "checkpoint")


def test_an_existing_file_is_replaced_only_when_ours_or_asked(tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("precious")
    with pytest.raises(PathError) as refused:
        check_output(target, "checkpoint", is_ours=never_ours)
    assert refused.value.overwritable and "not a ScratchNet checkpoint" in str(refused.value)
    assert check_output(target, "checkpoint", is_ours=lambda p: True) == target
    assert check_output(target, "checkpoint", is_ours=never_ours, overwrite=True) == target
    with pytest.raises(PathError):  # no judge of ours: any existing file needs asking
        check_output(target, "metrics")


def test_two_outputs_naming_one_file(tmp_path):
    check_distinct({"checkpoint": tmp_path / "a", "metrics": tmp_path / "b"})
    with pytest.raises(PathError, match="checkpoint and the metrics"):
        check_distinct({"checkpoint": tmp_path / "a", "metrics": tmp_path / "." / "a"})


def test_atomic_write_replaces_the_file_and_leaves_nothing_else(tmp_path):
    target = tmp_path / "out.csv"
    target.write_bytes(b"old")
    atomic_write(target, lambda f: f.write(b"new"))
    assert target.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["out.csv"]
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)


def test_a_failed_write_keeps_the_old_file_and_removes_its_temporary(tmp_path):
    target = tmp_path / "out.csv"
    target.write_bytes(b"old")

    def half(file):
        file.write(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        atomic_write(target, half)
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.csv"]


def test_leftovers_of_a_killed_write_are_removed_by_the_next_write(tmp_path):
    target = tmp_path / "run.npz"
    script = (f"import os, sys; from core.files import atomic_write\n"
              f"atomic_write({str(target)!r}, lambda f: (f.write(b'x' * 1000), f.flush(), os._exit(9)))")
    subprocess.run([sys.executable, "-c", script], check=False)
    leftovers = [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]
    assert len(leftovers) == 1 and leftovers[0].startswith(".run.npz.")
    other = tmp_path / ".other.npz.abcdefgh.tmp"  # another target's: not ours to remove
    other.write_bytes(b"")
    atomic_write(target, lambda f: f.write(b"done"))
    assert sorted(os.listdir(tmp_path)) == [".other.npz.abcdefgh.tmp", "run.npz"]


def test_a_temporary_file_still_being_written_is_left_alone(tmp_path):
    target = tmp_path / "run.npz"
    busy = tmp_path / ".run.npz.abcd1234.tmp"
    busy.write_bytes(b"")
    with open(busy, "rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        assert remove_stale_temps(target) == []
        assert busy.exists()
    assert remove_stale_temps(target) == [busy]


def test_inputs_must_be_small_regular_files(tmp_path):
    small = tmp_path / "run.toml"
    small.write_bytes(b"x" * 10)
    assert read_input(small, "config file", max_bytes=10) == b"x" * 10
    with pytest.raises(PathError, match="more than the 9"):
        read_input(small, "config file", max_bytes=9)
    with pytest.raises(PathError, match="no config file at"):
        read_input(tmp_path / "missing.toml", "config file", max_bytes=10)
    with pytest.raises(PathError, match="a folder"):
        open_input(tmp_path, "checkpoint", max_bytes=10)
    with pytest.raises(PathError, match="a device"):
        read_input("/dev/zero", "config file", max_bytes=10)  # endless: refused, not read


def test_a_fifo_input_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)  # nobody writes to it: an ordinary open would wait forever
    with pytest.raises(PathError, match="FIFO"):
        read_input(fifo, "config file", max_bytes=100)
