"""Gzip IDX files are decompressed only up to what their header declares."""

import gzip
import os
import struct

import pytest

from core.datasets import DatasetError, read_images, read_labels
from core.datasets.idx import IMAGES_MAGIC, LABELS_MAGIC, MAX_IDX_BYTES
from tests import memory_peak

EXTRA_BYTES = 2**27  # 128 MiB of zeros behind the data, about 130 KB once compressed
PEAK_ALLOWED = 2**20 * 4  # a small file's worth (the reader works a 1 MiB chunk at a time)


def gzip_file(path, head: bytes, zeros: int = 0) -> None:
    """`head` followed by `zeros` zero bytes, gzip-compressed, written without holding them all."""
    chunk = bytes(2**20)
    with gzip.open(path, "wb", compresslevel=1) as file:
        file.write(head)
        for start in range(0, zeros, len(chunk)):
            file.write(chunk[: zeros - start])


def refused_within(reader, path, peak_allowed: int = PEAK_ALLOWED) -> str:
    """The DatasetError message of `reader(path)`, asserting its memory peak stayed small."""
    return memory_peak.refused_within(DatasetError, lambda: reader(path), peak_allowed)


def test_data_past_what_the_header_declares_is_refused_without_inflating_it(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    gzip_file(path, struct.pack(">iI", LABELS_MAGIC, 10) + bytes(10), zeros=EXTRA_BYTES)
    assert os.path.getsize(path) < EXTRA_BYTES // 100
    assert refused_within(read_labels, path) == f"{path}: more data follows the 10 bytes its header promises"


def test_a_header_declaring_more_than_any_dataset_is_refused_before_reading_on(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    gzip_file(path, struct.pack(">i3I", IMAGES_MAGIC, 2**31, 28, 28), zeros=2**20)
    message = refused_within(read_images, path)
    assert message == (f"{path}: the header declares {2**31 * 784:,} data bytes, more than the "
                       f"{MAX_IDX_BYTES:,} of any dataset ScratchNet reads")


def test_a_header_promising_more_than_the_file_holds_allocates_only_what_is_there(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    gzip_file(path, struct.pack(">i3I", IMAGES_MAGIC, 100_000, 28, 28), zeros=784)  # 78 MB promised
    assert "truncated: 784 data bytes, the header 100000x28x28 promises 78400000" in refused_within(read_images, path)


def test_a_compressed_file_that_ends_where_its_header_says_is_read(tmp_path):
    path = tmp_path / "labels.gz"
    gzip_file(path, struct.pack(">iI", LABELS_MAGIC, 3) + bytes([3, 1, 4]))
    assert read_labels(path).tolist() == [3, 1, 4]


def test_a_pipe_or_a_device_is_refused_at_once(tmp_path):
    fifo = tmp_path / "labels.gz"
    os.mkfifo(fifo)
    with pytest.raises(DatasetError, match="is a pipe"):
        read_labels(fifo)
    with pytest.raises(DatasetError, match="/dev/zero: is a device"):
        read_images("/dev/zero")
