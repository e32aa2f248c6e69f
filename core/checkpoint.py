"""Checkpoints: a training run saved to one .npz file, and read back with every part checked.

Layout (format version 1; every entry a plain array, so the file loads with allow_pickle=False):
    format                "scratchnet-checkpoint"
    version               1
    config                the TrainConfig as JSON
    meta                  JSON: step, elapsed, n_train, order_epoch, state, message, rng_state
    weights/<name>        W1, b1, W2, ...
    optimizer/<key>       the optimizer's state_dict (e.g. optimizer/v/W1, optimizer/t)
    history/<key>         the MetricsHistory's state_dict
    order, batch          the epoch's row order and a batch drawn but not yet used, when present

A checkpoint is written atomically (core.files.atomic_write): a crash while saving leaves the
previous checkpoint as it was, and the temporary file a killed save leaves behind is removed by
the next save into the same folder.

A checkpoint is read within bounds: a regular file below a size cap, every entry's .npy header
checked before any entry is decompressed (see _check_entries). And it is data, never
instructions: loading one writes and downloads nothing, and its stored data_dir is not used.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from core.config import TrainConfig, memory_limit
from core.files import PathError, atomic_write, open_input
from core.metrics import MetricsHistory
from core.optimizers import make_optimizer

FORMAT = "scratchnet-checkpoint"
VERSION = 1
#: The first bytes of a zip archive (an .npz), and of an empty one.
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
META_KEYS = ("step", "elapsed", "n_train", "order_epoch", "state", "message", "rng_state")
#: Bounds past which a file is damaged, checked before anything is sized by them: step counters
#: (saved as int64, with room to count on) and the capacity of the loss curve (a session keeps 2048).
MAX_COUNTER = 2**62
MAX_LOSS_CAPACITY = 2**20
MAX_ELAPSED = 1e15  # seconds (31 million years): finite, and not an int too big for a float
#: The most bytes the compressed entries of a checkpoint may inflate to, together. ScratchNet writes
#: none (np.savez stores every entry as it is); this leaves room for the arrays of a network with a
#: few million parameters in a file compressed again by hand.
MAX_INFLATED_BYTES = 64 * 2**20


class CheckpointError(Exception):
    """A checkpoint could not be written or read: the message names the file and the problem."""


@dataclass(frozen=True, eq=False)
class Checkpoint:
    """Everything TrainingSession.from_checkpoint needs to continue a run exactly.

    state and message are the session's when it was saved, for display: a resumed session starts
    in state "ready".
    """

    config: TrainConfig
    weights: dict[str, np.ndarray]
    optimizer_state: dict[str, np.ndarray]
    history: dict[str, np.ndarray]  # MetricsHistory.state_dict()
    step: int
    elapsed: float
    n_train: int
    rng_state: dict[str, Any]  # the batch sampler's bit_generator.state
    order: np.ndarray | None
    order_epoch: int
    batch: np.ndarray | None
    state: str
    message: str


def save_checkpoint(path: str | os.PathLike, ckpt: Checkpoint) -> None:
    """Write `ckpt` to `path` atomically (core.files.atomic_write); CheckpointError naming the path
    if it cannot be written. The caller checks the path first (check_output with is_checkpoint)."""
    try:
        atomic_write(path, lambda file: np.savez(file, **_to_arrays(ckpt)))
    except OSError as exc:
        raise CheckpointError(f"cannot save a checkpoint to {os.fspath(path)}: {exc.strerror or exc}") from None


def is_checkpoint(path: str | os.PathLike) -> bool:
    """Does `path` look like a ScratchNet checkpoint (an .npz with our format and meta entries)? Reads
    only the archive's directory: for deciding whether a file may be replaced, not for loading it."""
    try:
        with zipfile.ZipFile(path) as archive:
            return {"format.npy", "meta.npy"} <= set(archive.namelist())
    except (OSError, zipfile.BadZipFile, ValueError):
        return False


def _to_arrays(ckpt: Checkpoint) -> dict[str, np.ndarray]:
    meta = {key: getattr(ckpt, key) for key in META_KEYS}
    arrays = {
        "format": np.array(FORMAT),
        "version": np.array(VERSION),
        "config": np.array(json.dumps(ckpt.config.to_dict())),
        "meta": np.array(json.dumps(meta)),
    }
    for prefix, group in (("weights", ckpt.weights), ("optimizer", ckpt.optimizer_state), ("history", ckpt.history)):
        arrays.update({f"{prefix}/{key}": np.asarray(value) for key, value in group.items()})
    if ckpt.order is not None:
        arrays["order"] = ckpt.order
    if ckpt.batch is not None:
        arrays["batch"] = ckpt.batch
    return arrays


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read and check a checkpoint; CheckpointError, naming the path, for anything that is not one.

    A checkpoint is data, never instructions: its config comes back with data_dir=None, so that
    where data is found or downloaded is the user's choice (a data_dir given when resuming), not
    the file's.
    """
    path = os.fspath(path)
    arrays = _read_arrays(path)

    def fail(problem: str) -> CheckpointError:
        return CheckpointError(f"{path} is not a usable ScratchNet checkpoint: {problem}")

    if _text(arrays.get("format")) != FORMAT:
        raise fail("it has no ScratchNet format marker (a file from something else?)")
    version = arrays.get("version")
    if version is None or version.shape != () or version.dtype.kind not in "iu":
        raise fail("its format version is missing")
    if int(version) != VERSION:
        raise fail(f"it is in checkpoint format {int(version)}; this ScratchNet reads format {VERSION}")
    for key in ("config", "meta"):
        if _text(arrays.get(key)) is None:
            raise fail(f"its {key!r} entry is missing or not text")
    try:
        settings = json.loads(_text(arrays["config"]))
        if isinstance(settings, dict):
            settings.pop("data_dir", None)
        config = TrainConfig.from_dict(settings, source="config")
    except (ValueError, TypeError, RecursionError) as exc:  # ConfigError and JSONDecodeError are ValueErrors
        raise fail(f"its config is invalid: {exc}") from None
    try:
        meta = json.loads(_text(arrays["meta"]))
    except (ValueError, RecursionError):
        meta = None
    if not isinstance(meta, dict):
        raise fail("its meta entry is not a JSON object")
    missing = [key for key in META_KEYS if key not in meta]
    if missing:
        raise fail(f"its meta entry lacks {', '.join(missing)}")

    groups = {prefix: {key[len(prefix) + 1:]: value for key, value in arrays.items() if key.startswith(prefix + "/")}
              for prefix in ("weights", "optimizer", "history")}
    problem = (_check_weights(groups["weights"], config) or _check_optimizer(groups["optimizer"], groups["weights"], config)
               or _check_meta(meta) or _check_indices(arrays, meta) or _check_history(groups["history"]))
    if problem:
        raise fail(problem)
    try:
        MetricsHistory.from_state_dict(groups["history"])
    except (ValueError, KeyError, TypeError, OverflowError) as exc:
        raise fail(f"its metrics history is damaged ({exc})") from None
    return Checkpoint(
        config=config, weights=groups["weights"], optimizer_state=groups["optimizer"], history=groups["history"],
        step=meta["step"], elapsed=float(meta["elapsed"]), n_train=meta["n_train"], rng_state=meta["rng_state"],
        order=arrays.get("order"), order_epoch=meta["order_epoch"], batch=arrays.get("batch"),
        state=meta["state"], message=meta["message"],
    )


def _read_arrays(path: str) -> dict[str, np.ndarray]:
    """Every entry of the .npz at `path`, each read only once the headers of all are checked
    (see _check_entries), or CheckpointError."""
    # The largest network the memory check (core.config.check_memory) allows keeps its weights and
    # optimizer state within memory_limit(), so its checkpoint does too: a bigger file is no
    # checkpoint this machine could have written, or could resume.
    try:
        file = open_input(path, "checkpoint file", max_bytes=memory_limit())
    except PathError as exc:
        raise CheckpointError(str(exc)) from None
    with file:
        if file.read(4) not in ZIP_MAGIC:
            raise CheckpointError(f"{path} is not a ScratchNet checkpoint: it is not an .npz archive")
        file.seek(0)
        archive = _guarded(path, lambda: zipfile.ZipFile(file))
        entries = _check_entries(path, archive, os.fstat(file.fileno()).st_size)

        def read(name: str) -> np.ndarray:
            with archive.open(name) as stream:
                return np.lib.format.read_array(stream, allow_pickle=False)

        return {key: _guarded(path, lambda: read(name)) for key, name in entries.items()}


def _check_entries(path: str, archive: zipfile.ZipFile, file_size: int) -> dict[str, str]:
    """{key: member name} of the archive's entries, once each is known to be an .npy array without
    Python objects whose header (shape and dtype) accounts exactly for the size the zip directory
    declares. Only the first bytes of each entry are inflated to read its header.

    An uncompressed entry lies within the file, whose size is capped. np.savez writes ScratchNet's
    checkpoints uncompressed; compressed entries (a file compressed again by hand) may inflate to
    MAX_INFLATED_BYTES together: a small file whose arrays would inflate to gigabytes (a zip bomb)
    is refused before any of it is decompressed.
    """
    entries: dict[str, str] = {}
    inflated = 0
    for info in archive.infolist():
        key = info.filename.removesuffix(".npy")
        if key == info.filename:
            raise CheckpointError(f"{path} is not a ScratchNet checkpoint: its entry {key!r} is not an array")
        dtype, shape, header_size = _guarded(path, lambda: _read_header(archive, info))
        if dtype.hasobject:
            raise CheckpointError(f"{path} is refused: its entry {key!r} contains pickled Python objects, "
                                  "which could run code when loaded")
        nbytes = math.prod(shape) * dtype.itemsize  # exact: Python ints do not wrap around
        stored = info.compress_type == zipfile.ZIP_STORED
        if (min(shape, default=0) < 0 or header_size + nbytes != info.file_size
                or (stored and info.compress_size != info.file_size)
                or info.header_offset + info.compress_size > file_size):
            raise CheckpointError(f"{path} is not a ScratchNet checkpoint or is damaged: its entry {key!r} "
                                  f"declares shape {shape} of {dtype}, which does not match its size in the archive")
        inflated += 0 if stored else nbytes
        if inflated > MAX_INFLATED_BYTES:
            raise CheckpointError(f"{path} is refused: its compressed entries would inflate to more than "
                                  f"{MAX_INFLATED_BYTES:,} bytes (ScratchNet writes checkpoints uncompressed)")
        entries[key] = info.filename
    return entries


def _read_header(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[np.dtype, tuple[int, ...], int]:
    """(dtype, shape, bytes before the data) of an .npy entry, from its first bytes."""
    with archive.open(info) as stream:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f".npy format version {version[0]}.{version[1]} is not one np.savez writes")
        return dtype, shape, stream.tell()


def _guarded(path: str, read: Callable[[], Any]) -> Any:
    """read(), with what a damaged or foreign archive raises turned into a CheckpointError."""
    try:
        return read()
    except CheckpointError:
        raise
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from None
    except Exception as exc:  # zipfile.BadZipFile, EOFError, zlib.error, ValueError, ...: a damaged or foreign file
        raise CheckpointError(f"{path} is not a ScratchNet checkpoint or is damaged ({type(exc).__name__}: {exc})") from None


def _text(array: np.ndarray | None) -> str | None:
    if array is None or array.shape != () or array.dtype.kind != "U":
        return None
    return str(array)


def _check_weights(weights: dict[str, np.ndarray], config: TrainConfig) -> str | None:
    """What is wrong with the weights for config's hidden layers (inputs and outputs are checked
    against the dataset on resume)."""
    depth = len(config.hidden) + 1
    expected = sorted(f"{kind}{i}" for i in range(1, depth + 1) for kind in "Wb")
    if sorted(weights) != expected:
        return f"its weights are {sorted(weights)}, expected {expected} for hidden={list(config.hidden)}"
    if any(w.dtype.kind != "f" for w in weights.values()):
        return "its weights are not floating-point arrays"
    if not all(np.isfinite(w).all() for w in weights.values()):
        return "its weights are not all finite (a run saves the last finite weights, even when it diverged)"
    first, last = weights["W1"], weights[f"W{depth}"]
    if first.ndim != 2 or last.ndim != 2:
        return "its weight matrices are not 2-D"
    sizes = (first.shape[0], *config.hidden, last.shape[1])
    for i in range(1, depth + 1):
        W, b = weights[f"W{i}"], weights[f"b{i}"]
        if W.shape != (sizes[i - 1], sizes[i]) or b.shape != (sizes[i],):
            return f"its weights W{i} {W.shape} and b{i} {b.shape} do not fit the layer sizes {sizes}"
    return None


def _check_optimizer(state: dict[str, np.ndarray], weights: dict[str, np.ndarray], config: TrainConfig) -> str | None:
    for key, value in state.items():  # Adam's step count t: saved again as an int64 after more steps
        if value.shape == () and value.dtype.kind in "iu" and int(value) > MAX_COUNTER:
            return f"its optimizer state {key}={int(value)} is out of range"
    try:
        make_optimizer(config.optimizer, **config.optimizer_kwargs).load_state_dict(state)
    except ValueError as exc:
        return f"its optimizer state is invalid: {exc}"
    for key, value in state.items():
        _, _, param = key.partition("/")
        if param and (param not in weights or value.shape != weights[param].shape):
            return f"its optimizer state {key} has shape {value.shape}, which fits no weight of that name"
    return None


def _check_meta(meta: dict[str, Any]) -> str | None:
    whole = ("step", "n_train", "order_epoch")
    if not all(isinstance(meta[key], int) and not isinstance(meta[key], bool) for key in whole):
        return "its step counters are not whole numbers"
    if not (0 <= meta["step"] <= MAX_COUNTER and 1 <= meta["n_train"] <= MAX_COUNTER
            and abs(meta["order_epoch"]) <= MAX_COUNTER):
        return "its step counters are out of range"
    elapsed = meta["elapsed"]
    if (isinstance(elapsed, bool) or not isinstance(elapsed, (int, float)) or not 0 <= elapsed <= MAX_ELAPSED
            or not isinstance(meta["rng_state"], dict)):
        return "its elapsed time or random state is invalid"
    if not isinstance(meta["state"], str) or not isinstance(meta["message"], str):
        return "its state is not text"
    try:
        np.random.default_rng().bit_generator.state = meta["rng_state"]
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        return f"its random state is invalid ({exc})"
    return None


def _check_history(history: dict[str, np.ndarray]) -> str | None:
    """The loss curve's capacity, before MetricsHistory.from_state_dict allocates that much."""
    counts = history.get("loss_counts")
    if counts is None or counts.shape != (4,):
        return None  # from_state_dict names the problem
    try:
        capacity = int(counts[0])
    except (ValueError, TypeError, OverflowError):
        return "its metrics history is damaged (the loss curve's counters are not numbers)"
    if capacity > MAX_LOSS_CAPACITY:
        return f"its metrics history claims a loss curve of {capacity} points (at most {MAX_LOSS_CAPACITY})"
    return None


def _check_indices(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> str | None:
    for key in ("order", "batch"):
        value = arrays.get(key)
        if value is not None and (value.ndim != 1 or value.dtype.kind not in "iu"):
            return f"its {key} entry is not a list of row numbers"
    if arrays.get("order") is None and meta["order_epoch"] >= 0:  # a session sets both or neither
        return f"its order entry is missing (the row order of epoch {meta['order_epoch']})"
    return None

