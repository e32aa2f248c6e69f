"""Downloading against local HTTP servers: caching, bad mirrors, dropped connections, offline."""

import gzip
import hashlib
import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from core.datasets import DatasetError, RemoteSource, fetch_files, load_dataset, load_mnist
from core.datasets import download, dataset_status

FILE_NAMES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
              "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def idx_gz(array: np.ndarray) -> bytes:
    header = struct.pack(f">i{array.ndim}I", 0x0800 | array.ndim, *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def make_files() -> dict[str, bytes]:
    rng = np.random.default_rng(1)
    return {
        FILE_NAMES[0]: idx_gz(rng.integers(0, 256, (30, 28, 28))),
        FILE_NAMES[1]: idx_gz(np.arange(30) % 10),
        FILE_NAMES[2]: idx_gz(rng.integers(0, 256, (10, 28, 28))),
        FILE_NAMES[3]: idx_gz(np.arange(10) % 10),
    }


FILES = make_files()
CHECKSUMS = {name: "md5:" + hashlib.md5(data).hexdigest() for name, data in FILES.items()}


class Mirror:
    """A ThreadingHTTPServer on 127.0.0.1 serving FILES, in one of three moods:
    "good", "corrupt" (one byte changed) or "drop" (promises more bytes than it sends)."""

    def __init__(self, mood: str = "good"):
        self.requests: list[str] = []
        mirror = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                name = self.path.rsplit("/", 1)[-1]
                mirror.requests.append(name)
                if name not in FILES:
                    self.send_error(404)
                    return
                body = FILES[name]
                if mood == "corrupt":
                    body = body[:-1] + bytes([body[-1] ^ 0xFF])
                self.send_response(200)
                self.send_header("Content-Length", str(len(body) * (2 if mood == "drop" else 1)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if mood == "drop" else body)
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/files/"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def mirrors():
    started = []

    def start(mood="good"):
        started.append(Mirror(mood))
        return started[-1]

    yield start
    for mirror in started:
        mirror.close()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No real cache, no SCRATCHNET_DATA, no proxy between the client and 127.0.0.1."""
    monkeypatch.setattr(download, "user_cache_dir", lambda: tmp_path / "user-cache")
    monkeypatch.delenv(download.ENV_VAR, raising=False)
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def source(*urls) -> RemoteSource:
    return RemoteSource("mnist", tuple(urls), CHECKSUMS)


def files_under(directory):
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())


def test_download_then_reuse_without_requests(tmp_path, mirrors, capfd):
    mirror = mirrors()
    calls = []
    paths = fetch_files(source(mirror.url), data_dir=tmp_path / "data", timeout=5,
                        progress=lambda done, total: calls.append((done, total)))
    assert sorted(mirror.requests) == sorted(FILE_NAMES)
    assert files_under(tmp_path / "data") == sorted(f"mnist/{name}" for name in FILE_NAMES)
    for name, path in paths.items():
        assert path.read_bytes() == FILES[name]
    assert calls and all(0 <= done <= total for done, total in calls)
    assert (len(FILES[FILE_NAMES[0]]),) * 2 in calls
    assert capfd.readouterr().err == "", "downloads must not print: the terminal UI owns the screen"

    again = fetch_files(source(mirror.url), data_dir=tmp_path / "data", timeout=5)
    assert again == paths
    assert len(mirror.requests) == len(FILE_NAMES)


def test_full_dataset_loads_from_mirror_then_from_cache(tmp_path, mirrors, monkeypatch):
    mirror = mirrors()
    monkeypatch.setitem(download.SOURCES, "mnist", source(mirror.url))
    monkeypatch.setenv(download.ENV_VAR, str(tmp_path / "env-dir"))
    (x_train, t_train), (x_test, t_test) = load_mnist(dataset="mnist")
    assert x_train.shape == (30, 784) and x_test.shape == (10, 784)
    assert t_train.tolist() == (np.arange(30) % 10).tolist()
    assert files_under(tmp_path / "env-dir") == sorted(f"mnist/{name}" for name in FILE_NAMES)

    data = load_dataset("mnist")
    assert (data.n_train, data.n_test, data.class_names[3]) == (30, 10, "3")
    assert len(mirror.requests) == len(FILE_NAMES)
    assert all(status.available for status in dataset_status() if status.name == "mnist")


def test_checksum_mismatch_falls_back_to_next_mirror(tmp_path, mirrors):
    bad, good = mirrors("corrupt"), mirrors()
    paths = fetch_files(source(bad.url, good.url), data_dir=tmp_path / "data", timeout=5)
    assert sorted(bad.requests) == sorted(good.requests) == sorted(FILE_NAMES)
    assert files_under(tmp_path / "data") == sorted(f"mnist/{name}" for name in FILE_NAMES)
    assert all(path.read_bytes() == FILES[name] for name, path in paths.items())


def test_checksum_mismatch_everywhere_leaves_nothing(tmp_path, mirrors):
    bad = mirrors("corrupt")
    with pytest.raises(DatasetError, match="checksum mismatch"):
        fetch_files(source(bad.url), data_dir=tmp_path / "data", timeout=5)
    assert files_under(tmp_path) == []


def test_dropped_connection_falls_back_and_leaves_nothing(tmp_path, mirrors):
    dropping, good = mirrors("drop"), mirrors()
    fetch_files(source(dropping.url, good.url), data_dir=tmp_path / "data", timeout=5)
    assert sorted(dropping.requests) == sorted(FILE_NAMES)
    assert files_under(tmp_path / "data") == sorted(f"mnist/{name}" for name in FILE_NAMES)


def test_dropped_connection_everywhere_leaves_nothing(tmp_path, mirrors):
    dropping = mirrors("drop")
    with pytest.raises(DatasetError, match="connection dropped"):
        fetch_files(source(dropping.url), data_dir=tmp_path / "data", timeout=5)
    assert files_under(tmp_path) == []


def test_offline_error_says_in_a_few_lines_what_to_do_first(tmp_path):
    with pytest.raises(DatasetError) as info:
        fetch_files(source(closed_port_url()), data_dir=tmp_path / "data", timeout=5)
    lines = str(info.value).splitlines()
    assert lines[:3] == [
        "mnist: could not download 4 of its files (cannot connect).",
        "To go on now, choose mnist-sample: 10,000 MNIST digits that come with ScratchNet.",
        f"To use mnist offline, put these files in {tmp_path / 'data' / 'mnist'}:",
    ]
    assert lines[3:] == ["  " + ", ".join(FILE_NAMES)]
    assert files_under(tmp_path) == []


def test_offline_defaults_to_the_user_cache(tmp_path):
    with pytest.raises(DatasetError, match=str(tmp_path / "user-cache" / "mnist")):
        fetch_files(source(closed_port_url()), timeout=5)


def test_files_put_by_hand_are_used_without_network(tmp_path):
    for name, data in FILES.items():  # straight into data_dir, no mnist/ subdirectory
        (tmp_path / name).write_bytes(data)
    paths = fetch_files(source(closed_port_url()), data_dir=tmp_path, timeout=5)
    assert paths == {name: tmp_path / name for name in FILE_NAMES}


def test_search_order_data_dir_then_env_then_cache(tmp_path, monkeypatch):
    for directory in ("explicit", "env", "user-cache"):
        (tmp_path / directory / "mnist").mkdir(parents=True)
        for name, data in FILES.items():
            (tmp_path / directory / "mnist" / name).write_bytes(data)
    monkeypatch.setenv(download.ENV_VAR, str(tmp_path / "env"))
    offline = source(closed_port_url())
    assert fetch_files(offline, data_dir=tmp_path / "explicit")[FILE_NAMES[0]].parent.parent.name == "explicit"
    assert fetch_files(offline)[FILE_NAMES[0]].parent.parent.name == "env"
    monkeypatch.delenv(download.ENV_VAR)
    assert fetch_files(offline)[FILE_NAMES[0]].parent.parent.name == "user-cache"


def test_corrupt_cached_file_is_replaced(tmp_path, mirrors):
    mirror = mirrors()
    target = tmp_path / "data" / "mnist"
    target.mkdir(parents=True)
    for name, data in FILES.items():
        (target / name).write_bytes(data)
    (target / FILE_NAMES[1]).write_bytes(b"not the labels")
    fetch_files(source(mirror.url), data_dir=tmp_path / "data", timeout=5)
    assert mirror.requests == [FILE_NAMES[1]]
    assert (target / FILE_NAMES[1]).read_bytes() == FILES[FILE_NAMES[1]]


def test_http_error_moves_on(tmp_path, mirrors):
    mirror = mirrors()
    with pytest.raises(DatasetError, match="HTTP 404"):
        fetch_files(RemoteSource("mnist", (mirror.url,), {"missing.gz": "md5:" + "0" * 32}),
                    data_dir=tmp_path, timeout=5)


def test_published_sources_are_complete():
    for name, remote in download.SOURCES.items():
        assert remote.name == name
        assert set(remote.checksums) == set(FILE_NAMES)
        assert len(remote.mirrors) >= 2
        assert all(url.startswith(("http://", "https://")) and url.endswith("/") for url in remote.mirrors)
        assert all(h.startswith("md5:") and len(h) == 36 for h in remote.checksums.values())
    assert len({h for remote in download.SOURCES.values() for h in remote.checksums.values()}) == 8


def test_bad_knobs_are_refused_before_any_download(mirrors, monkeypatch):
    mirror = mirrors()
    monkeypatch.setitem(download.SOURCES, "mnist", source(mirror.url))
    with pytest.raises(DatasetError, match="validation=2"):
        load_mnist(dataset="mnist", validation=2)
    assert mirror.requests == []
