"""Checkpoints: round trip, atomic writes, and refusal of anything that is not a sound checkpoint."""

import io
import json
import os
import zipfile

import numpy as np
import pytest

from core import checkpoint as checkpoint_module
from core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from core.config import TrainConfig
from core.datasets import load_dataset
from core.training import TrainingSession


@pytest.fixture(scope="module")
def circle():
    return load_dataset("circle", n_samples=200)


@pytest.fixture
def session(circle):
    """A finished Adam run with two hidden layers: weights, optimizer state, history and order to save."""
    config = TrainConfig(dataset="circle", n_samples=200, hidden=(8, 4), batch_size=10, epochs=3,
                         optimizer="adam", lr=0.01)
    session = TrainingSession(config, circle)
    session.start()
    session.run()
    return session


@pytest.fixture
def saved(session, tmp_path):
    path = tmp_path / "run.npz"
    session.save_checkpoint(path)
    return path


def arrays_of(path) -> dict:
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def rewrite(path, arrays: dict) -> None:
    with open(path, "wb") as file:
        np.savez(file, **arrays)


def test_a_checkpoint_round_trips_every_part(session, saved):
    original = session.checkpoint()
    loaded = load_checkpoint(saved)
    assert loaded.config == original.config
    assert (loaded.step, loaded.n_train, loaded.order_epoch, loaded.state) == (30, 100, 2, "finished")
    assert loaded.elapsed == original.elapsed and loaded.rng_state == original.rng_state
    for name in ("weights", "optimizer_state", "history"):
        a, b = getattr(original, name), getattr(loaded, name)
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a), name
    assert np.array_equal(loaded.order, original.order) and loaded.batch is None
    assert "optimizer/t" in arrays_of(saved) and "weights/W3" in arrays_of(saved)


def test_a_checkpoint_is_plain_arrays_with_a_format_version(saved):
    arrays = arrays_of(saved)  # allow_pickle=False: it would raise on any object array
    assert str(arrays["format"]) == "scratchnet-checkpoint" and int(arrays["version"]) == 1
    assert json.loads(str(arrays["config"]))["hidden"] == [8, 4]


def test_saving_replaces_the_file_atomically_and_syncs_it(session, saved, monkeypatch):
    synced = []
    monkeypatch.setattr(checkpoint_module.os, "fsync", lambda fd: synced.append(fd))
    session.save_checkpoint(saved)
    assert len(synced) == 2  # the file, then the directory that holds the rename
    assert os.listdir(saved.parent) == ["run.npz"]
    assert os.stat(saved).st_mode & 0o777 == 0o644  # an ordinary file, not mkstemp's private one


@pytest.mark.parametrize("crash", [RuntimeError("power cut"), KeyboardInterrupt(), OSError(28, "No space left on device")])
def test_a_crash_while_saving_leaves_the_previous_checkpoint_intact(session, saved, monkeypatch, crash):
    before = saved.read_bytes()

    def half_written(file, **arrays):
        file.write(b"PK\x03\x04 half a zip")
        raise crash

    monkeypatch.setattr(checkpoint_module.np, "savez", half_written)
    with pytest.raises((type(crash), CheckpointError)) as info:
        session.save_checkpoint(saved)
    if isinstance(crash, OSError):
        assert info.type is CheckpointError and "No space left" in str(info.value) and str(saved) in str(info.value)
    assert saved.read_bytes() == before and os.listdir(saved.parent) == ["run.npz"]
    monkeypatch.undo()
    assert load_checkpoint(saved).step == 30


def test_a_crash_at_the_rename_leaves_no_temporary_file(session, saved, monkeypatch):
    def no_rename(src, dst):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(checkpoint_module.os, "replace", no_rename)
    with pytest.raises(CheckpointError, match="Input/output error"):
        session.save_checkpoint(saved)
    assert os.listdir(saved.parent) == ["run.npz"]


def test_paths_that_cannot_be_written_or_read_are_named(session, tmp_path):
    with pytest.raises(CheckpointError, match="Is a directory"):
        session.save_checkpoint(tmp_path)
    missing_dir = tmp_path / "no" / "such" / "dir" / "run.npz"
    with pytest.raises(CheckpointError, match=f"cannot save a checkpoint to {missing_dir}"):
        session.save_checkpoint(missing_dir)
    with pytest.raises(CheckpointError, match=f"no checkpoint file at {tmp_path / 'absent.npz'}"):
        load_checkpoint(tmp_path / "absent.npz")
    with pytest.raises(CheckpointError, match=f"checkpoint file {tmp_path}: is a folder, not a file"):
        load_checkpoint(tmp_path)


def drop(key):
    return lambda arrays: {k: v for k, v in arrays.items() if k != key}


def change(key, value):
    return lambda arrays: {**arrays, key: value}


def edit_json(key, **changes):
    return lambda arrays: {**arrays, key: np.array(json.dumps({**json.loads(str(arrays[key])), **changes}))}


TAMPERED = {
    "bad version": (change("version", np.array(99)), "it is in checkpoint format 99; this ScratchNet reads format 1"),
    "no version": (drop("version"), "format version is missing"),
    "foreign": (lambda arrays: {"x": np.arange(3)}, "no ScratchNet format marker"),
    "no config": (drop("config"), "'config' entry is missing"),
    "no meta": (drop("meta"), "'meta' entry is missing"),
    "bad config": (edit_json("config", activation="swish"), "activation='swish'"),
    "config not json": (change("config", np.array("{hidden")), "its config is invalid"),
    "meta lacks step": (lambda a: {**a, "meta": np.array(json.dumps({k: v for k, v in json.loads(str(a["meta"])).items()
                                                                     if k != "step"}))}, "lacks step"),
    "negative step": (edit_json("meta", step=-4), "out of range"),
    "bad rng state": (edit_json("meta", rng_state={"bit_generator": "MT19937"}), "random state is invalid"),
    "missing weight": (drop("weights/b2"), "its weights are"),
    "wrong shape": (change("weights/W2", np.zeros((8, 5), np.float32)), "do not fit the layer sizes"),
    "integer weights": (change("weights/W1", np.zeros((2, 8), np.int64)), "not floating-point"),
    "optimizer state shape": (change("optimizer/m/W1", np.zeros((3, 3), np.float32)), "optimizer state"),
    "unknown optimizer key": (change("optimizer/velocity/W1", np.zeros((2, 8), np.float32)), "optimizer state is invalid"),
    "damaged history": (change("history/evaluations", np.zeros((2, 3))), "metrics history is damaged"),
    "order of words": (change("order", np.array(["a", "b"])), "not a list of row numbers"),
}


@pytest.mark.parametrize("name", list(TAMPERED))
def test_a_tampered_checkpoint_is_refused_with_a_clear_message(saved, name):
    edit, fragment = TAMPERED[name]
    rewrite(saved, edit(arrays_of(saved)))
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(saved)
    assert fragment in str(info.value) and str(saved) in str(info.value)


def test_a_pickled_object_array_is_refused_without_being_unpickled(saved):
    arrays = arrays_of(saved)
    arrays["weights/W1"] = np.array([{"exploit": True}, None], dtype=object)
    rewrite(saved, arrays)  # np.savez pickles object arrays
    with pytest.raises(CheckpointError, match="pickled Python objects"):
        load_checkpoint(saved)


def test_random_bytes_a_truncated_file_and_an_npy_file_are_refused(saved, tmp_path):
    data = saved.read_bytes()
    cases = {
        "random.npz": np.random.default_rng(0).bytes(5000),
        "truncated.npz": data[: len(data) // 2],
        "cut-after-magic.npz": data[:10],
        "empty.npz": b"",
        "array.npy": b"",
    }
    for name, content in cases.items():
        path = tmp_path / name
        if name == "array.npy":
            np.save(path, np.arange(5))
        else:
            path.write_bytes(content)
        with pytest.raises(CheckpointError) as info:
            load_checkpoint(path)
        assert str(path) in str(info.value) and "checkpoint" in str(info.value), name


@pytest.mark.parametrize("member", ["notes.txt", "format"])
def test_a_zip_that_is_not_an_npz_is_refused(tmp_path, member):
    path = tmp_path / "notes.npz"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(member, "hello")
    path.write_bytes(buffer.getvalue())
    with pytest.raises(CheckpointError, match=f"its entry '{member}' is not an array"):
        load_checkpoint(path)


def test_resuming_on_a_different_training_set_is_refused(saved):
    other = load_dataset("circle", n_samples=300)
    with pytest.raises(CheckpointError, match="trained on 100 rows, but circle has 150"):
        TrainingSession.from_checkpoint(saved, other)


def test_resuming_on_data_of_another_shape_is_refused(saved):
    digits = load_dataset("mnist-sample", subset_per_class=10)  # 100 rows too, of 784 features
    with pytest.raises(CheckpointError, match="weights do not fit mnist-sample"):
        TrainingSession.from_checkpoint(saved, digits)


def test_save_checkpoint_writes_exactly_the_path_given(session, tmp_path):
    path = tmp_path / "no-extension"
    save_checkpoint(path, session.checkpoint())
    assert path.exists() and load_checkpoint(path).step == 30
