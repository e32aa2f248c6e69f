"""The IDX reader: round trips on files written here, and one test per kind of corruption."""

import gzip
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from core.datasets import DatasetError, read_image_label_pair, read_images, read_labels, write_idx
from core.datasets.idx import IMAGES_MAGIC, LABELS_MAGIC, parse_idx

RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, (12, 28, 28), dtype=np.uint8)
LABELS = np.arange(12) % 10


def header(magic: int, *sizes: int) -> bytes:
    return struct.pack(f">i{len(sizes)}I", magic, *sizes)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_images_and_labels_round_trip(tmp_path, suffix):
    write_idx(tmp_path / f"img{suffix}", IMAGES)
    write_idx(tmp_path / f"lbl{suffix}", LABELS)
    images, labels = read_image_label_pair(tmp_path / f"img{suffix}", tmp_path / f"lbl{suffix}")
    np.testing.assert_array_equal(images, IMAGES)
    np.testing.assert_array_equal(labels, LABELS)
    assert images.dtype == np.uint8 and labels.dtype == np.int64


def test_written_file_is_the_documented_format(tmp_path):
    write_idx(tmp_path / "lbl", np.array([3, 1, 4], dtype=np.uint8))
    assert (tmp_path / "lbl").read_bytes() == header(LABELS_MAGIC, 3) + bytes([3, 1, 4])
    write_idx(tmp_path / "lbl.gz", np.array([3, 1, 4], dtype=np.uint8))
    assert gzip.decompress((tmp_path / "lbl.gz").read_bytes()) == header(LABELS_MAGIC, 3) + bytes([3, 1, 4])


@settings(max_examples=30, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(0, 5), st.integers(1, 4), st.integers(1, 4))))
def test_parse_inverts_write_for_any_shape(array):
    data = header(IMAGES_MAGIC, *array.shape) + array.tobytes()
    np.testing.assert_array_equal(parse_idx(data, "mem", IMAGES_MAGIC), array)


def write_raw(path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def images_bytes(n=3, rows=28, cols=28, magic=IMAGES_MAGIC) -> bytes:
    return header(magic, n, rows, cols) + bytes(n * rows * cols)


def expect_error(reader, path, *words):
    with pytest.raises(DatasetError) as info:
        reader(path)
    message = str(info.value)
    assert str(path) in message
    for word in words:
        assert word in message, message


def test_wrong_magic(tmp_path):
    path = write_raw(tmp_path / "images.idx", images_bytes(magic=1234))
    expect_error(read_images, path, "wrong magic number 1234", "2051")


def test_label_file_given_as_images(tmp_path):
    path = write_raw(tmp_path / "labels.idx", header(LABELS_MAGIC, 2) + bytes(2))
    expect_error(read_images, path, "wrong number of dimensions: 1", "expected 3")


def test_wrong_number_of_dimensions(tmp_path):
    path = write_raw(tmp_path / "images.idx", header(IMAGES_MAGIC + 1, 2, 28, 28, 1) + bytes(2 * 784))
    expect_error(read_images, path, "wrong number of dimensions: 4", "expected 3")


def test_wrong_image_size(tmp_path):
    path = write_raw(tmp_path / "images.idx", images_bytes(rows=27))
    expect_error(read_images, path, "wrong image size 27x28", "expected 28x28")


def test_truncated_data(tmp_path):
    path = write_raw(tmp_path / "images.idx", images_bytes()[:-5])
    expect_error(read_images, path, "truncated", str(3 * 784))


def test_truncated_header(tmp_path):
    path = write_raw(tmp_path / "images.idx", header(IMAGES_MAGIC, 3, 28))
    expect_error(read_images, path, "truncated header")


def test_file_shorter_than_magic(tmp_path):
    path = write_raw(tmp_path / "labels.idx", b"\x00\x00")
    expect_error(read_labels, path, "truncated")


def test_trailing_bytes(tmp_path):
    path = write_raw(tmp_path / "labels.idx", header(LABELS_MAGIC, 2) + bytes(2) + b"junk")
    expect_error(read_labels, path, "4 trailing bytes")


def test_label_out_of_range(tmp_path):
    path = write_raw(tmp_path / "labels.idx", header(LABELS_MAGIC, 4) + bytes([1, 2, 12, 3]))
    expect_error(read_labels, path, "label 12 at index 2", "0..9")


def test_label_range_follows_number_of_classes(tmp_path):
    path = write_raw(tmp_path / "labels.idx", header(LABELS_MAGIC, 3) + bytes([0, 1, 2]))
    assert read_labels(path, n_classes=3).tolist() == [0, 1, 2]
    with pytest.raises(DatasetError, match="label 2 at index 2 is out of range 0..1"):
        read_labels(path, n_classes=2)


def test_named_gz_but_not_gzip(tmp_path):
    path = write_raw(tmp_path / "labels-idx1-ubyte.gz", header(LABELS_MAGIC, 1) + bytes(1))
    expect_error(read_labels, path, "named .gz but is not gzip-compressed")


def test_truncated_gzip(tmp_path):
    compressed = gzip.compress(images_bytes())
    path = write_raw(tmp_path / "images.gz", compressed[: len(compressed) // 2])
    expect_error(read_images, path, "corrupt or truncated gzip")


def test_missing_file(tmp_path):
    expect_error(read_labels, str(tmp_path / "nowhere.gz"), "no IDX file at")


def test_image_and_label_counts_must_agree(tmp_path):
    write_idx(tmp_path / "img.gz", IMAGES)
    write_idx(tmp_path / "lbl.gz", LABELS[:-1])
    with pytest.raises(DatasetError) as info:
        read_image_label_pair(tmp_path / "img.gz", tmp_path / "lbl.gz")
    message = str(info.value)
    assert "count mismatch" in message and "12 images" in message and "11 labels" in message
    assert str(tmp_path / "img.gz") in message and str(tmp_path / "lbl.gz") in message


def test_writer_refuses_values_that_are_not_bytes(tmp_path):
    with pytest.raises(ValueError, match="0..255"):
        write_idx(tmp_path / "x", np.array([1, 256]))
