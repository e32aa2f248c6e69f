"""Reading and writing IDX files, the format MNIST and Fashion-MNIST are published in.

An IDX file is a 4-byte magic number, one big-endian uint32 size per dimension, then the
data in C order. The magic is 0x00 0x00 <type> <ndim>; MNIST uses type 0x08 (unsigned byte),
so images are 0x00000803 = 2051 (count, rows, cols) and labels 0x00000801 = 2049 (count).
Files may be gzip-compressed, in which case their name ends in ".gz".

Every problem is raised as a DatasetError naming the file and what is wrong with it.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from os import PathLike
from pathlib import Path
from typing import BinaryIO

import numpy as np

from core.files import PathError, open_input

from .errors import DatasetError

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
UBYTE = 0x08
GZIP_SIGNATURE = b"\x1f\x8b"
#: The most bytes an IDX file may hold, compressed or not: the largest ScratchNet reads, the
#: training images of MNIST and Fashion-MNIST, hold 47 MB.
MAX_IDX_BYTES = 2**27
CHUNK_BYTES = 2**20


def _read_idx(path: Path, magic: int) -> np.ndarray:
    """The array in the IDX file at `path` (magic number `magic`), gzip-decompressed when its name
    ends in .gz. A compressed file is decompressed only up to what its header declares: data past
    that is an error found by reading one byte more, not by inflating the rest."""
    try:
        file = open_input(path, "IDX file", max_bytes=MAX_IDX_BYTES)
    except PathError as exc:
        raise DatasetError(str(exc)) from None
    with file:
        if path.suffix != ".gz":
            return parse_idx(_read_at_most(file, path, MAX_IDX_BYTES + 1), str(path), magic)
        if file.read(len(GZIP_SIGNATURE)) != GZIP_SIGNATURE:
            raise DatasetError(f"{path}: named .gz but is not gzip-compressed")
        file.seek(0)
        with gzip.GzipFile(fileobj=file) as stream:
            data = _read_at_most(stream, path, 4 + 4 * (magic & 0xFF))
            declared = _declared_bytes(data, magic)
            if declared is not None:
                if declared > MAX_IDX_BYTES:
                    raise DatasetError(f"{path}: the header declares {declared:,} data bytes, more than the "
                                       f"{MAX_IDX_BYTES:,} of any dataset ScratchNet reads")
                data += _read_at_most(stream, path, declared)
                if _read_at_most(stream, path, 1):
                    raise DatasetError(f"{path}: more data follows the {declared} bytes its header promises")
    return parse_idx(data, str(path), magic)


def _declared_bytes(header: bytes, magic: int) -> int | None:
    """The data bytes a complete IDX header with magic number `magic` declares, else None."""
    ndim = magic & 0xFF
    if len(header) != 4 + 4 * ndim or struct.unpack(">i", header[:4])[0] != magic:
        return None  # parse_idx names the problem
    return math.prod(struct.unpack(f">{ndim}I", header[4:]))


def _read_at_most(stream: BinaryIO, path: Path, size: int) -> bytes:
    """Up to `size` bytes of `stream` (fewer only at its end), a chunk at a time: memory grows with
    the data there is, not with what a header claims."""
    chunks, left = [], size
    try:
        while left:
            chunk = stream.read(min(left, CHUNK_BYTES))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DatasetError(f"{path}: corrupt or truncated gzip data ({exc})") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return b"".join(chunks)


def parse_idx(data: bytes, source: str, magic: int) -> np.ndarray:
    """Decode IDX bytes whose magic number must be `magic`; `source` names them in errors."""
    if len(data) < 4:
        raise DatasetError(f"{source}: truncated: {len(data)} bytes, too short for an IDX header")
    (found,) = struct.unpack(">i", data[:4])
    if found != magic:
        if found >> 8 == magic >> 8 and found & 0xFF != magic & 0xFF:
            raise DatasetError(f"{source}: wrong number of dimensions: {found & 0xFF}, "
                               f"expected {magic & 0xFF} (magic number {found}, expected {magic})")
        raise DatasetError(f"{source}: wrong magic number {found}, expected {magic} "
                           f"({_kind(magic)})")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"{source}: truncated header: {len(data)} bytes, expected {header}")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    expected = math.prod(shape)  # exact: np.prod's int64 wraps around for huge headers
    body = len(data) - header
    if body < expected:
        raise DatasetError(f"{source}: truncated: {body} data bytes, the header "
                           f"{'x'.join(map(str, shape))} promises {expected}")
    if body > expected:
        raise DatasetError(f"{source}: {body - expected} trailing bytes after the "
                           f"{expected} data bytes the header {'x'.join(map(str, shape))} promises")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def _kind(magic: int) -> str:
    return {IMAGES_MAGIC: "an IDX image file", LABELS_MAGIC: "an IDX label file"}.get(
        magic, "an IDX file")


def read_images(path: str | PathLike, image_shape: tuple[int, int] = (28, 28)) -> np.ndarray:
    """uint8 images, shape (N, rows, cols), from an IDX image file (magic 2051)."""
    path = Path(path)
    images = _read_idx(path, IMAGES_MAGIC)
    if images.shape[1:] != tuple(image_shape):
        raise DatasetError(f"{path}: wrong image size {images.shape[1]}x{images.shape[2]}, "
                           f"expected {image_shape[0]}x{image_shape[1]}")
    return images


def read_labels(path: str | PathLike, n_classes: int = 10) -> np.ndarray:
    """int64 class indices, shape (N,), from an IDX label file (magic 2049); each in 0..n_classes-1."""
    path = Path(path)
    labels = _read_idx(path, LABELS_MAGIC)
    bad = np.flatnonzero(labels >= n_classes)
    if bad.size:
        raise DatasetError(f"{path}: label {labels[bad[0]]} at index {bad[0]} is out of range "
                           f"0..{n_classes - 1} ({bad.size} such labels)")
    return labels.astype(np.int64)


def read_image_label_pair(images_path: str | PathLike, labels_path: str | PathLike, *,
                          n_classes: int = 10,
                          image_shape: tuple[int, int] = (28, 28)) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels from two IDX files that must hold the same number of examples."""
    images = read_images(images_path, image_shape)
    labels = read_labels(labels_path, n_classes)
    if len(images) != len(labels):
        raise DatasetError(f"count mismatch: {images_path} holds {len(images)} images but "
                           f"{labels_path} holds {len(labels)} labels")
    return images, labels


def write_idx(path: str | PathLike, array: np.ndarray) -> None:
    """Write a uint8 array as IDX (magic 0x0000 08 <ndim>), gzip-compressed if `path` ends in .gz."""
    path = Path(path)
    array = np.asarray(array)
    if array.size and (array.min() < 0 or array.max() > 255):
        raise ValueError(f"{path}: IDX unsigned bytes must lie in 0..255")
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(f">i{array.ndim}I", (UBYTE << 8) | array.ndim, *array.shape)
    data = header + array.tobytes()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
