"""Checkpoints are read within bounds, and are data, never instructions.

Every entry's .npy header is checked before anything is decompressed: a small file whose arrays
would inflate to far more than it holds (a zip bomb) is refused while the memory in use stays small.
"""

import io
import json
import os
import struct
import zipfile

import numpy as np
import pytest

from core import checkpoint as checkpoint_module
from core.checkpoint import MAX_INFLATED_BYTES, CheckpointError, load_checkpoint
from core.config import TrainConfig
from core.datasets import download, load_dataset
from core.training import TrainingSession
from tests import memory_peak
from tui.cli import main

BOMB_BYTES = 2 * MAX_INFLATED_BYTES  # 128 MiB of zeros, about 130 KB once compressed
PEAK_ALLOWED = 2**20  # the memory a refusal may take: a 128th of what the bomb inflates to


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    config = TrainConfig(dataset="circle", n_samples=100, hidden=(4,), batch_size=10, steps=5,
                         optimizer="adam", lr=0.01, data_dir=str(tmp_path_factory.mktemp("x") / "elsewhere"))
    session = TrainingSession(config, load_dataset("circle", n_samples=100))
    session.start()
    session.run()
    path = tmp_path_factory.mktemp("saved") / "run.npz"
    session.save_checkpoint(path)
    return path


def arrays_of(path) -> dict:
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def refused_within(path, peak_allowed: int = PEAK_ALLOWED) -> str:
    """The CheckpointError message of loading `path`, asserting the load's memory peak stayed small."""
    return memory_peak.refused_within(CheckpointError, lambda: load_checkpoint(path), peak_allowed)


@pytest.mark.parametrize("entry", ["weights/W1", "notes"])
def test_a_small_file_whose_arrays_inflate_far_beyond_it_is_refused_before_inflating(saved, tmp_path, entry):
    bomb = tmp_path / "bomb.npz"
    np.savez_compressed(bomb, **{**arrays_of(saved), entry: np.zeros(BOMB_BYTES // 8)})
    assert bomb.stat().st_size < BOMB_BYTES // 100
    assert refused_within(bomb) == (f"{bomb} is refused: its compressed entries would inflate to more than "
                                    f"{MAX_INFLATED_BYTES:,} bytes (ScratchNet writes checkpoints uncompressed)")


def npy_header(shape: tuple, descr: str = "<f8") -> bytes:
    """A version 1.0 .npy header declaring `shape`, as numpy.save writes it."""
    text = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode()
    text += b" " * (63 - (10 + len(text)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text


def with_member(saved, path, name: str, content: bytes) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for key, value in arrays_of(saved).items():
            if key + ".npy" == name:
                continue
            with archive.open(key + ".npy", "w") as member:
                np.lib.format.write_array(member, value, allow_pickle=False)
        archive.writestr(name, content)
    path.write_bytes(buffer.getvalue())


def test_an_entry_whose_header_declares_a_huge_shape_is_refused_without_allocating(saved, tmp_path):
    path = tmp_path / "huge.npz"
    with_member(saved, path, "history/loss_steps.npy", npy_header((10**6, 10**6)) + bytes(16))
    message = refused_within(path)
    assert "its entry 'history/loss_steps' declares shape (1000000, 1000000) of float64, which does not match" in message


def test_an_object_array_is_refused_from_its_header(saved, tmp_path):
    path = tmp_path / "objects.npz"
    with_member(saved, path, "meta.npy", npy_header((), "|O") + b"\x80\x04N.")  # a pickled None
    assert "pickled Python objects" in refused_within(path)


def test_a_checkpoint_compressed_by_hand_loads_within_bounds(saved, tmp_path, monkeypatch):
    compressed = tmp_path / "compressed.npz"
    arrays = {**arrays_of(saved), "notes": np.zeros(2**17)}  # 1 MiB of zeros, about 1 KB compressed
    np.savez_compressed(compressed, **arrays)
    assert load_checkpoint(compressed).step == 5
    monkeypatch.setattr(checkpoint_module, "MAX_INFLATED_BYTES", 2**20)
    with pytest.raises(CheckpointError, match="its compressed entries would inflate to more than 1,048,576 bytes"):
        load_checkpoint(compressed)


def test_a_checkpoint_file_bigger_than_the_memory_a_run_may_use_is_refused_unread(saved, monkeypatch):
    monkeypatch.setattr(checkpoint_module, "memory_limit", lambda: saved.stat().st_size - 1)
    with pytest.raises(CheckpointError, match=f"checkpoint file {saved}: is .* bytes, more than the"):
        load_checkpoint(saved)


def test_a_pipe_or_a_device_is_refused_at_once(tmp_path):
    fifo = tmp_path / "run.npz"
    os.mkfifo(fifo)  # no writer: opening it to read would block forever
    with pytest.raises(CheckpointError, match="is a pipe"):
        load_checkpoint(fifo)
    with pytest.raises(CheckpointError, match="/dev/zero: is a device"):
        load_checkpoint("/dev/zero")


def test_the_data_dir_stored_in_a_checkpoint_is_ignored(saved, tmp_path):
    assert json.loads(str(arrays_of(saved)["config"]))["data_dir"].endswith("elsewhere")
    ckpt = load_checkpoint(saved)
    assert ckpt.config.data_dir is None
    assert not (saved.parent.parent / "elsewhere").exists()
    data_dir = tmp_path / "mine"
    session = TrainingSession.from_checkpoint(ckpt, load_dataset("circle", n_samples=100),
                                              config=ckpt.config.replace(data_dir=str(data_dir), steps=6))
    session.start()
    session.run()
    assert session.snapshot().step == 6 and not data_dir.exists()


def test_a_checkpoint_naming_a_data_dir_of_an_unknown_user_still_loads(saved, tmp_path):
    arrays = arrays_of(saved)
    config = json.loads(str(arrays["config"]))
    arrays["config"] = np.array(json.dumps({**config, "data_dir": "~no-such-user-here/data"}))
    path = tmp_path / "moved.npz"
    np.savez(path, **arrays)
    assert load_checkpoint(path).config.data_dir is None


def test_evaluate_looks_for_data_where_the_user_says_not_where_the_checkpoint_says(saved, tmp_path, monkeypatch, capsys):
    arrays = arrays_of(saved)
    planted = tmp_path / "planted"
    config = json.loads(str(arrays["config"]))
    arrays["config"] = np.array(json.dumps({**config, "dataset": "mnist", "data_dir": str(planted)}))
    np.savez(tmp_path / "run.npz", **arrays)
    monkeypatch.setenv(download.ENV_VAR, str(tmp_path / "mine"))
    targets = []
    monkeypatch.setattr(download, "_download", lambda source, name, target, *_: targets.append(target) or ["offline"])
    assert main(["evaluate", str(tmp_path / "run.npz")]) == 1  # offline: nothing to evaluate on
    assert "could not download" in capsys.readouterr().err
    assert set(targets) == {tmp_path / "mine" / "mnist"} and not planted.exists()


def test_an_entry_the_zip_directory_claims_is_bigger_than_the_file_is_refused_without_allocating(saved, tmp_path):
    path = tmp_path / "claims.npz"
    header = npy_header((2**28,))  # 2 GiB of float64
    with_member(saved, path, "notes.npy", header + bytes(8))
    data = bytearray(path.read_bytes())
    record = data.rindex(b"PK\x01\x02")  # the zip directory's record of the last entry written: notes
    claimed = len(header) + 2**31
    data[record + 20:record + 28] = struct.pack("<II", claimed, claimed)  # its compressed and full sizes
    path.write_bytes(data)
    assert "its entry 'notes' declares shape (268435456,) of float64, which does not match" in refused_within(path)
