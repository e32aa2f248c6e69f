"""Finding, and if need be downloading, the full MNIST and Fashion-MNIST files.

Where files are looked for, in order (each directory both as `<dir>/<dataset>/` and `<dir>/`):
  1. the `data_dir` argument (the CLI's --data-dir),
  2. the directory in the SCRATCHNET_DATA environment variable,
  3. the user cache, platformdirs.user_cache_dir("scratchnet").
A file counts as found only if its checksum matches. Missing files are downloaded into
`<first of those directories>/<dataset>/`, trying each mirror in turn; pooch streams each one
to a temporary file, checks its hash and only then renames it into place, so an interrupted
or corrupt download leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import DatasetError, SettingError

#: Called as progress(bytes_done, total_bytes) while one file downloads (total 0 if unknown).
ProgressCallback = Callable[[int, int], None]

ENV_VAR = "SCRATCHNET_DATA"
#: Seconds to wait for a server to connect or to send the next bytes.
DEFAULT_TIMEOUT = 30.0
CHUNK_SIZE = 64 * 1024


@dataclass(frozen=True)
class RemoteSource:
    """A downloadable dataset: its directory name, base URLs to try in order, and file checksums."""

    name: str
    mirrors: tuple[str, ...]
    #: file name -> "md5:<hex>" or "sha256:<hex>"
    checksums: Mapping[str, str]


#: The published checksums of the original files (the same names for both datasets).
SOURCES: dict[str, RemoteSource] = {
    "mnist": RemoteSource(
        name="mnist",
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        checksums={
            "train-images-idx3-ubyte.gz": "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "md5:d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "md5:9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "md5:ec29112dd5afa0611ce80d1b7f02629c",
        },
    ),
    "fashion-mnist": RemoteSource(
        name="fashion-mnist",
        mirrors=(
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        ),
        checksums={
            "train-images-idx3-ubyte.gz": "md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "md5:25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "md5:bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "md5:bb300cfdad3c16e7a12a480ee83cd310",
        },
    ),
}


def user_cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("scratchnet"))


def search_dirs(data_dir: str | os.PathLike | None = None) -> list[Path]:
    """The directories searched, most specific first: data_dir, $SCRATCHNET_DATA, user cache."""
    dirs = [_expand(data_dir, "data_dir")] if data_dir is not None else []
    if os.environ.get(ENV_VAR):
        dirs.append(_expand(os.environ[ENV_VAR], ENV_VAR))
    dirs.append(user_cache_dir())
    return list(dict.fromkeys(dirs))


def _expand(directory: str | os.PathLike, knob: str) -> Path:
    """Path(directory) with a leading ~ or ~user expanded; SettingError if it cannot be."""
    try:
        return Path(directory).expanduser()
    except RuntimeError:  # "~nosuchuser/...": pathlib cannot find that home directory
        raise SettingError(f"{knob}={os.fspath(directory)!r}: cannot find the home directory its ~ names") from None


def download_dir(source: RemoteSource, data_dir: str | os.PathLike | None = None) -> Path:
    """Where missing files of `source` are downloaded to (and where to put them by hand)."""
    return search_dirs(data_dir)[0] / source.name


def _hash_matches(path: Path, known_hash: str) -> bool:
    import pooch

    algorithm, _, digest = known_hash.partition(":")
    return pooch.file_hash(str(path), alg=algorithm) == digest.lower()


def find_file(source: RemoteSource, file_name: str,
              data_dir: str | os.PathLike | None = None) -> Path | None:
    """The first file named `file_name` with the right checksum in the search directories."""
    for directory in search_dirs(data_dir):
        for candidate in (directory / source.name / file_name, directory / file_name):
            try:
                if candidate.is_file() and _hash_matches(candidate, source.checksums[file_name]):
                    return candidate
            except OSError:  # e.g. a name too long, or a file that cannot be read: not a usable copy
                continue
    return None


class _Progress:
    """The progress-bar object pooch.HTTPDownloader drives (total, update, reset, close),
    turned into calls of a progress(bytes_done, total) callback."""

    def __init__(self, callback: ProgressCallback):
        self.callback = callback
        self.total = 0
        self.done = 0

    def update(self, n: int) -> None:
        # pooch counts whole chunks, so the last one may overshoot the real size.
        self.done = min(self.done + n, self.total) if self.total else self.done + n
        self.callback(self.done, self.total)

    def reset(self) -> None:
        self.done = 0

    def close(self) -> None:
        pass


@contextlib.contextmanager
def _quiet_pooch() -> Iterator[None]:
    """Keep pooch's INFO messages off stderr (the terminal UI owns the screen)."""
    import pooch

    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _reason(exc: Exception) -> str:
    """A short account of why one download attempt failed."""
    import requests

    if isinstance(exc, ValueError):
        return "checksum mismatch"
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.HTTPError):
        return f"HTTP {exc.response.status_code}" if exc.response is not None else "HTTP error"
    if isinstance(exc, requests.ConnectionError):
        return "cannot connect"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "connection dropped mid-download"
    return type(exc).__name__


def _download(source: RemoteSource, file_name: str, target: Path,
              progress: ProgressCallback | None, timeout: float) -> list[str]:
    """Try each mirror for one file; return why each failed (e.g. "cannot connect"), empty on success."""
    import pooch
    import requests

    failures = []
    for mirror in source.mirrors:
        url = mirror.rstrip("/") + "/" + file_name
        downloader = pooch.HTTPDownloader(
            progressbar=_Progress(progress) if progress else False,
            chunk_size=CHUNK_SIZE, timeout=timeout)
        try:
            with _quiet_pooch():
                pooch.retrieve(url, source.checksums[file_name], fname=file_name,
                               path=target, downloader=downloader)
            return []
        except (ValueError, requests.RequestException) as exc:
            failures.append(_reason(exc))
        except OSError as exc:
            raise DatasetError(f"{target / file_name}: cannot be written ({exc})") from None
    return failures


def fetch_files(source: RemoteSource, *, data_dir: str | os.PathLike | None = None,
                progress: ProgressCallback | None = None,
                timeout: float = DEFAULT_TIMEOUT) -> dict[str, Path]:
    """Paths of all of `source`'s files, downloading the missing ones.

    Raises DatasetError, naming the directory and files to provide by hand, if some file is
    neither found nor obtainable from any mirror.
    """
    found: dict[str, Path] = {}
    failures: list[str] = []
    target = download_dir(source, data_dir)
    for file_name in source.checksums:
        path = find_file(source, file_name, data_dir)
        if path is None:
            file_failures = _download(source, file_name, target, progress, timeout)
            failures += file_failures
            path = None if file_failures else target / file_name
        if path is not None:
            found[file_name] = path
    missing = [name for name in source.checksums if name not in found]
    if missing:
        raise DatasetError(_offline_message(source, missing, failures, target))
    return found


def _offline_message(source: RemoteSource, missing: list[str], failures: list[str], target: Path) -> str:
    """A few lines: what went wrong in short, then what to do, the quickest first."""
    reasons = "; ".join(dict.fromkeys(failures)) or "no mirror to try"
    return (f"{source.name}: could not download {len(missing)} of its files ({reasons}).\n"
            f"To go on now, choose mnist-sample: 10,000 MNIST digits that come with ScratchNet.\n"
            f"To use {source.name} offline, put these files in {target}:\n"
            f"  {', '.join(missing)}")
