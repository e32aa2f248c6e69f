"""Property tests (hypothesis) at every boundary a user controls: config values and files, CLI
argument lists, IDX bytes and checkpoint files. Each input either works or raises the project's
own error (ConfigError, DatasetError, CheckpointError; for the CLI an exit code with a message);
never another exception, never a traceback.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import math
import os
import shutil
import struct
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from core.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from core.config import FIELDS, MAX_STEPS, ConfigError, TrainConfig
from core.datasets import DATASETS, DatasetError, download, load_dataset
from core.datasets.idx import IMAGES_MAGIC, LABELS_MAGIC, parse_idx, read_image_label_pair, read_images, read_labels
from core.layers import LOSSES, OUTPUTS
from core.network import ACTIVATIONS, DTYPES, WEIGHT_INITS
from core.optimizers import DEFAULTS
from core.training import TrainingSession
from tui import cli

#: Fixtures shared by all of a test's examples (the monkeypatches, tmp dirs) are fine here.
SHARED_FIXTURES = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


def fuzz(n: int):
    return settings(max_examples=n, deadline=None, suppress_health_check=SHARED_FIXTURES)


# ---------------------------------------------------------------------- values


#: Every string a choice field accepts, and names close to them.
NAMES = sorted({*DATASETS, *ACTIVATIONS, *OUTPUTS, *LOSSES, *WEIGHT_INITS, *DTYPES, *DEFAULTS,
                "backprop", "numerical", "numerical-naive", "epoch", "random",
                "Relu", "SGD", "float16", "int32", "mnist ", "", " ", "none", "nan", "-1", "1e400"})
HUGE_INTS = st.sampled_from([2**31, 2**32, 2**53 + 1, 2**63 - 1, 2**63, 2**64, 10**20, 10**400, -(10**400)])
NUMBERS = st.one_of(
    st.integers(-3, 3000), st.integers(), HUGE_INTS,
    st.floats(), st.sampled_from([0.0, -0.0, 1e-320, 1e308, -1e308, math.inf, -math.inf, math.nan, 0.5, 0.999999]),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, st.sampled_from(NAMES), st.text(max_size=12))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6,
)
#: What a field of TrainConfig might be given: its own kind of value, good or bad, or anything.
FIELD_VALUES = st.one_of(
    VALUES,
    st.lists(st.one_of(st.integers(-2, 64), HUGE_INTS, st.floats(), st.booleans()), max_size=5),  # hidden
    st.dictionaries(st.sampled_from(["momentum", "beta1", "beta2", "decay_rate", "eps", "lr", "x"]),
                    NUMBERS, max_size=3),  # optimizer_params
)


def constructs_or_config_error(make, names_a_field: bool = False) -> TrainConfig | None:
    """make() gives a TrainConfig or raises ConfigError with a message (when names_a_field, one that
    names a field of TrainConfig, as its `field` attribute and in its words); anything else fails the test."""
    try:
        config = make()
    except ConfigError as exc:
        assert str(exc), "a ConfigError without a message"
        if names_a_field:
            assert exc.field is not None and exc.field.partition(".")[0] in FIELDS, exc
            assert f"invalid {exc.field}=" in str(exc)
        return None
    assert isinstance(config, TrainConfig)
    return config


@fuzz(600)
@given(field=st.sampled_from(FIELDS), value=FIELD_VALUES)
@example(field="noise", value=10**400)  # float(int) overflows
@example(field="hidden", value=[10**400])  # the memory estimate in bytes cannot be divided as a float
@example(field="batch_size", value=10**400)
@example(field="steps", value=10**400)  # a run too long for its ETA to be a float
@example(field="optimizer_params", value={"momentum": 10**400})
def test_any_value_of_any_field_makes_a_config_or_a_config_error(field, value):
    config = constructs_or_config_error(lambda: TrainConfig(**{field: value}), names_a_field=True)
    if config is not None:  # a config that is made is usable: its derived values can be computed
        config.layer_sizes(), config.total_steps(1000), config.optimizer_kwargs, config.toml()


@fuzz(400)
@given(data=st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=10)), FIELD_VALUES, max_size=6))
def test_any_table_makes_a_config_or_a_config_error(data):
    config = constructs_or_config_error(lambda: TrainConfig.from_dict(data))
    if config is not None:
        assert TrainConfig.from_dict(config.to_dict()) == config


@fuzz(100)
@given(data=st.one_of(VALUES, st.binary(max_size=10), st.tuples(st.integers())))
def test_from_dict_refuses_anything_but_a_table_with_a_config_error(data):
    constructs_or_config_error(lambda: TrainConfig.from_dict(data))


# TOML text: lines of `key = value` with real and unknown keys, valid and invalid TOML values,
# tables; or plain text; or bytes that are not UTF-8.
TOML_KEYS = st.one_of(st.sampled_from(FIELDS), st.sampled_from(["learning_rate", "network", "a.b", '"quoted"', ""]),
                      st.text(alphabet="abcxyz_-", min_size=1, max_size=6))
TOML_VALUES = st.one_of(
    st.integers(-5, 3000).map(str), HUGE_INTS.map(str), st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["nan", "inf", "-inf", "true", "false", "1979-05-27", "1979-05-27T07:32:00Z", "[]", "[1, 2]",
                     "[100, 0]", "[8, 8]", '["8"]', "[1, [2]]", "{}", "{ momentum = 0.9 }", "{ beta1 = 2.0 }",
                     "0x10", "1_000", "1e400", "'lit'", '"""multi"""', "", "= =", '"unterminated']),
    st.sampled_from(NAMES).map(json.dumps),
)
TOML_LINES = st.one_of(
    st.builds(lambda k, v: f"{k} = {v}", TOML_KEYS, TOML_VALUES),
    st.sampled_from(["[optimizer_params]", "[network]", "[[hidden]]", "# comment", "", "momentum = 0.9"]),
    st.text(max_size=15),
)
TOML_FILES = st.one_of(
    st.lists(TOML_LINES, max_size=8).map(lambda lines: "\n".join(lines).encode()),
    st.text(max_size=60).map(str.encode),
    st.binary(max_size=60),
)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@fuzz(500)
@given(content=TOML_FILES)
@example(content=b"\xff\xfe = 1")
@example(content=b"lr = 1" + b"0" * 400)
@example(content=b'optimizer = "momentum"\noptimizer_params = { momentum = 1' + b"0" * 400 + b" }")
def test_any_config_file_makes_a_config_or_a_config_error_naming_the_file(scratch, content):
    path = scratch / "run.toml"
    path.write_bytes(content)
    try:
        config = TrainConfig.from_toml(path)
    except ConfigError as exc:
        assert str(path) in str(exc)
        return
    again = scratch / "again.toml"
    config.to_toml(again)
    assert TrainConfig.from_toml(again) == config


def test_config_files_that_are_not_files_are_config_errors(scratch):
    for path, problem in ((scratch, "is a folder, not a file"), (scratch / "missing.toml", "no config file at")):
        with pytest.raises(ConfigError, match=problem) as info:
            TrainConfig.from_toml(path)
        assert str(info.value).count(str(path)) == 1


# ---------------------------------------------------------------------- the CLI


@pytest.fixture(scope="module")
def cli_files(tmp_path_factory):
    """Paths a generated command line may name: good and bad configs and checkpoints, a directory,
    a file standing where a directory should be, and paths that do not exist."""
    root = tmp_path_factory.mktemp("cli")
    (root / "good.toml").write_text('dataset = "circle"\nhidden = [2]\nsteps = 1\nbatch_size = 2\n')
    (root / "bad.toml").write_text("learning_rate = 0.1\n")
    (root / "broken.toml").write_text("[network\n")
    (root / "junk.npz").write_bytes(b"PK\x03\x04 not really a zip")
    (root / "a-file").write_text("a file, not a directory")
    (root / "a-dir").mkdir()
    config = TrainConfig(dataset="circle", n_samples=40, hidden=(2,), batch_size=2, steps=2)
    session = TrainingSession(config)
    session.start()
    session.run()
    session.save_checkpoint(root / "good.npz")
    mnist = TrainingSession(TrainConfig(dataset="mnist-sample", hidden=(2,), batch_size=2, steps=1))
    mnist.save_checkpoint(root / "mnist.npz")
    return root


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """No downloads and no real user cache: $SCRATCHNET_DATA and the user cache point into tmp_path,
    and every download attempt fails as it would without a network. Work happens in tmp_path."""
    monkeypatch.setenv("SCRATCHNET_DATA", str(tmp_path / "env-data"))
    monkeypatch.setattr(download, "user_cache_dir", lambda: tmp_path / "cache")
    attempts = []

    def no_network(source, file_name, target, progress, timeout):
        attempts.append(file_name)
        return ["cannot connect" for _ in source.mirrors]

    monkeypatch.setattr(download, "_download", no_network)
    monkeypatch.chdir(tmp_path)
    return attempts


def values(*choices: str, numbers=None):
    """A flag's value: most often one of `choices` or a number as text, else an odd number or junk."""
    junk = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=8)
    parts = [st.sampled_from(choices)] * 6 if choices else []
    if numbers is not None:
        parts += [numbers.map(str)] * (3 if choices else 8)
    return st.one_of(*parts, st.sampled_from(["", "-1", "0", "nan", "inf", "-inf", "1e400", "1" + "0" * 400, "none"]),
                     junk)


SMALL = st.integers(-2, 6)
FRACTION = st.floats(-1, 2)
PATHS = ("good.npz", "mnist.npz", "junk.npz", "missing.npz", "a-dir", "a-file/x.npz", "good.toml",
         "bad.toml", "broken.toml", "no/such/dir/run.npz", "out.npz", "out.csv")
#: Flags of `train` and `gradcheck` with values that keep a run tiny: at most a few steps (longer runs
#: are cut short below), small layers (or absurd ones, refused before anything is allocated).
CONFIG_FLAG_VALUES = {
    "--dataset": values(*DATASETS, "MNIST", "circles"),
    "--data-dir": values("a-dir", "a-file", "missing-dir", "~nosuchuserxyz/data"),
    "--noise": values(numbers=FRACTION),
    "--n-samples": values("4", "40", "100", numbers=st.integers(-5, 300)),
    "--test-ratio": values("0.5", "0.01", "0.99", numbers=FRACTION),
    "--subset-per-class": values("1", "3", numbers=SMALL),
    "--validation": values("0.5", "0.9", numbers=FRACTION),
    "--hidden": values("2", "2,3", "none", "", "0", "1,,2", "10,x", "1000000000000", "100000,100000,100000",
                       numbers=SMALL),
    "--activation": values(*ACTIVATIONS),
    "--output": values(*OUTPUTS),
    "--loss": values(*LOSSES),
    "--init": values(*WEIGHT_INITS, "0.1", "1e-3", "1e30", numbers=st.floats(-1, 10)),
    "--optimizer": values(*DEFAULTS),
    "--optimizer-param": values("momentum=0.9", "beta1=0.5", "beta2=2", "decay_rate=0.5", "lr=0.1", "=1",
                                "momentum", "momentum=x", "momentum=1e400", "eps=0"),
    "--lr": values("0.1", "1e6", "1e300", numbers=st.floats(-1, 10)),
    "--batch-size": values("1", "2", "10000", numbers=SMALL),
    "--epochs": values("1", numbers=st.integers(-1, 2)),
    "--steps": values("1", "2", "1000000000000000", numbers=st.integers(-1, 3)),
    "--weight-decay": values("0.1", numbers=FRACTION),
    "--gradient": values("backprop", "numerical", "numerical-naive"),
    "--sampling": values("epoch", "random"),
    "--eval-every": values("1", numbers=SMALL),
    "--eval-samples": values("1", "5", "100000000", numbers=SMALL),
    "--dtype": values(*DTYPES, "float16"),
    "--seed": values("0", "7", str(2**63), numbers=st.integers(-2, 10)),
    "--config": values(*PATHS),
}
TRAIN_FLAGS = {**CONFIG_FLAG_VALUES, "--save": values(*PATHS), "--resume": values(*PATHS),
               "--metrics": values(*PATHS), "--json": None, "--print-config": None}
GRADCHECK_FLAGS = {**CONFIG_FLAG_VALUES, "--batch": values("1", "2", "100000", numbers=SMALL),
                   "--sample": values("0", "1", "2", "1000000", numbers=SMALL), "--json": None}
EVALUATE_FLAGS = {"--dataset": values(*DATASETS), "--data-dir": values("a-dir", "a-file", "missing-dir"),
                  "--json": None}
DATASETS_FLAGS = {"--data-dir": values("a-dir", "a-file", "missing-dir", "~nosuchuserxyz"), "--json": None}
#: Always given first (so a generated flag overrides them): a tiny run on a 2-D problem.
TINY = ["--dataset", "circle", "--n-samples", "40", "--hidden", "2", "--batch-size", "2", "--steps", "1"]
JUNK_TOKENS = st.one_of(
    st.sampled_from(["--", "-", "--bogus", "-x", "--lr=", "--steps=2", "--hidden=2", "=", "train", "--json", "-h"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=8),
)


@st.composite
def command_lines(draw) -> list[str]:
    command = draw(st.sampled_from(["train", "train", "train", "gradcheck", "gradcheck", "evaluate", "datasets"]))
    flags = {"train": TRAIN_FLAGS, "gradcheck": GRADCHECK_FLAGS, "evaluate": EVALUATE_FLAGS,
             "datasets": DATASETS_FLAGS}[command]
    argv = [command] + (list(TINY) if command in ("train", "gradcheck") else [])
    if command == "gradcheck":
        argv += ["--batch", "2", "--sample", "2"]
    if command == "evaluate":
        argv.append(draw(values(*PATHS)))
    for flag in draw(st.lists(st.sampled_from(sorted(flags)), max_size=5)):
        argv.append(flag)
        if flags[flag] is not None:
            argv.append(draw(flags[flag]))
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):  # sometimes junk tokens at random places
        argv.insert(draw(st.integers(1, len(argv))), draw(JUNK_TOKENS))
    steps = [v for flag, v in zip(argv, argv[1:]) if flag == "--steps"]
    if command == "train" and steps and steps[-1].strip().isdigit() and 3 < int(steps[-1]) <= MAX_STEPS:
        argv += ["--steps", "3"]  # a long run is cut short; a too long one stays: it must be refused
    if command == "train" and "numerical" in " ".join(argv):
        argv += ["--dataset", "circle"]  # no numerical gradients of MNIST-sized networks
    return argv


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    """main(argv) in-process: (exit code, stdout, stderr). argparse reports usage errors (and --help)
    with SystemExit, whose code is the process's exit code."""
    try:
        code = cli.main(argv)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@fuzz(200)
@given(argv=command_lines())
@example(argv=["train", *TINY, "--steps", "1" + "0" * 400])  # a run too long for its ETA to be a float
@example(argv=["train", *TINY, "--hidden", "1" + "0" * 400])  # a memory estimate too big for a float
@example(argv=["datasets", "--data-dir", "~nosuchuserxyz"])  # a home directory that does not exist
@example(argv=["datasets", "--data-dir", "1" + "0" * 400])  # a name too long for the file system
@example(argv=["train", *TINY, "--dataset", "mnist", "--data-dir", "~nosuchuserxyz"])
@example(argv=["train", *TINY, "--dataset", "fashion-mnist"])  # not cached, and no network
@example(argv=["gradcheck", *TINY, "--sample", "1000000", "--batch", "2"])
@example(argv=["frobnicate"])
@example(argv=["--bogus", "train"])
@example(argv=["train", "--help"])
def test_any_command_line_exits_0_1_or_2_with_a_message_and_no_traceback(offline, cli_files, capsys, argv):
    for name in os.listdir(cli_files):  # each example starts with the same files
        if os.path.isdir(cli_files / name):
            shutil.rmtree(name, ignore_errors=True)
            shutil.copytree(cli_files / name, name)
        else:
            shutil.copyfile(cli_files / name, name)
    code, out, err = run_cli(argv, capsys)
    assert code in (0, 1, 2), (argv, code, err)
    assert "Traceback" not in out + err, (argv, err)
    if code == 2:
        assert "error" in err, (argv, err)
    if code == 1:
        assert err.strip() or "verdict: wrong" in out, (argv, out, err)


def test_the_cli_fuzz_never_reaches_the_network_or_the_real_cache(offline, cli_files, capsys, tmp_path):
    code, _, err = run_cli(["train", *TINY, "--dataset", "mnist"], capsys)
    assert code == 1 and "could not download" in err and offline  # the download was attempted: offline
    assert str(tmp_path / "env-data") in err  # the files are to be put in the test's directory


# ---------------------------------------------------------------------- IDX files


def idx(array: np.ndarray) -> bytes:
    header = struct.pack(f">i{array.ndim}I", (0x08 << 8) | array.ndim, *array.shape)
    return header + np.ascontiguousarray(array, np.uint8).tobytes()


GOOD_IMAGES = idx(np.random.default_rng(0).integers(0, 256, (3, 28, 28)))
GOOD_LABELS = idx(np.array([0, 9, 4]))


@st.composite
def mutations(draw, good: bytes) -> bytes:
    """`good` with bytes flipped (most often in the header), cut short, extended or spliced."""
    data = bytearray(good)
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["flip", "flip-header", "truncate", "extend", "delete", "insert"]))
        if kind.startswith("flip") and data:
            end = min(len(data), 16) if kind == "flip-header" else len(data)
            i = draw(st.integers(0, end - 1))
            data[i] ^= draw(st.integers(1, 255))
        elif kind == "truncate":
            del data[draw(st.integers(0, len(data))):]
        elif kind == "extend":
            data += draw(st.binary(min_size=1, max_size=20))
        elif kind == "delete" and data:
            i = draw(st.integers(0, len(data) - 1))
            del data[i:i + draw(st.integers(1, 8))]
        elif kind == "insert":
            i = draw(st.integers(0, len(data)))
            data[i:i] = draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


# Headers with any sizes, among them sizes that multiply to more than 64 bits hold, e.g.
# 2^31 x 2^31 x 4, which is 0 modulo 2^64.
POWER_OF_TWO = st.integers(0, 31).map(lambda k: 2**k)
SIZES = st.one_of(st.integers(0, 2**32 - 1), POWER_OF_TWO, POWER_OF_TWO, st.sampled_from([0, 1, 28]))
BODIES = st.one_of(st.just(b""), st.binary(max_size=32))
CRAFTED = st.one_of(
    st.builds(lambda dims, body: struct.pack(">i3I", IMAGES_MAGIC, *dims) + body,
              st.tuples(SIZES, SIZES, SIZES), BODIES),
    st.builds(lambda size, body: struct.pack(">iI", LABELS_MAGIC, size) + body, SIZES, BODIES),
    st.builds(lambda magic, dims, body: struct.pack(f">i{len(dims)}I", magic, *dims) + body,
              st.sampled_from([IMAGES_MAGIC, LABELS_MAGIC, 0x0803, 0x0801, 0x0C03, 0x0802, 0]),
              st.lists(SIZES, max_size=3), BODIES),
)


def idx_bytes(good: bytes):
    return st.one_of(
        st.binary(max_size=64), mutations(good), CRAFTED, CRAFTED,
        mutations(good).map(gzip.compress),  # damaged data, intact compression
        st.binary(max_size=64).map(gzip.compress),  # gzip of junk
        st.builds(lambda data, cut: gzip.compress(data)[:cut], mutations(good), st.integers(0, 40)),  # truncated gzip
        mutations(gzip.compress(good)),  # damaged compression
    )


def arrays_or_dataset_error(read, *args, **kwargs):
    try:
        result = read(*args, **kwargs)
    except DatasetError as exc:
        assert str(exc)
        return None
    return result


@fuzz(400)
@given(data=idx_bytes(GOOD_IMAGES), name=st.sampled_from(["images", "images.gz"]))
@example(data=struct.pack(">i3I", IMAGES_MAGIC, 2**31, 2**31, 4), name="images")  # 2^64 elements
def test_any_bytes_read_as_images_give_images_or_a_dataset_error(tmp_path_factory, data, name):
    path = tmp_path_factory.getbasetemp() / name
    path.write_bytes(data)
    images = arrays_or_dataset_error(read_images, path)
    if images is not None:
        assert images.dtype == np.uint8 and images.shape[1:] == (28, 28)
    parsed = arrays_or_dataset_error(parse_idx, data, "bytes", IMAGES_MAGIC)
    if parsed is not None:
        assert parsed.ndim == 3 and parsed.size == len(data) - 16


@fuzz(300)
@given(data=idx_bytes(GOOD_LABELS), name=st.sampled_from(["labels", "labels.gz"]), n_classes=st.integers(1, 12))
@example(data=struct.pack(">iI", LABELS_MAGIC, 2**32 - 1), name="labels", n_classes=10)
def test_any_bytes_read_as_labels_give_labels_or_a_dataset_error(tmp_path_factory, data, name, n_classes):
    path = tmp_path_factory.getbasetemp() / name
    path.write_bytes(data)
    labels = arrays_or_dataset_error(read_labels, path, n_classes)
    if labels is not None:
        assert labels.dtype == np.int64 and labels.ndim == 1 and (labels < n_classes).all()


@fuzz(150)
@given(images=idx_bytes(GOOD_IMAGES), labels=idx_bytes(GOOD_LABELS))
def test_any_pair_of_files_gives_a_matching_pair_or_a_dataset_error(tmp_path_factory, images, labels):
    base = tmp_path_factory.getbasetemp()
    (base / "pair-images.gz").write_bytes(gzip.compress(images))
    (base / "pair-labels").write_bytes(labels)
    pair = arrays_or_dataset_error(read_image_label_pair, base / "pair-images.gz", base / "pair-labels")
    if pair is not None:
        assert len(pair[0]) == len(pair[1])


def test_idx_files_that_are_not_files_are_dataset_errors(tmp_path):
    for path in (tmp_path, tmp_path / "missing", tmp_path / "missing.gz"):
        with pytest.raises(DatasetError):
            read_images(path)


# ---------------------------------------------------------------------- checkpoints


@pytest.fixture(scope="module")
def circle():
    return load_dataset("circle", n_samples=200)


@pytest.fixture(scope="module")
def good_checkpoint(circle, tmp_path_factory):
    """An Adam run in the middle of its second epoch, with a batch drawn: every entry a file can have."""
    config = TrainConfig(dataset="circle", n_samples=200, hidden=(4, 3), batch_size=10, steps=13,
                         optimizer="adam", lr=0.01, eval_every=5)
    session = TrainingSession(config, circle)
    session.start()
    session.run()
    ckpt = dataclasses.replace(session.checkpoint(), batch=np.arange(10, 20))  # a batch drawn, not yet used
    path = tmp_path_factory.mktemp("ckpt") / "good.npz"
    save_checkpoint(path, ckpt)
    return path


def arrays_of(path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), HUGE_INTS, st.floats(), st.text(max_size=8),
              st.sampled_from(NAMES)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=5,
)
def _filled(shape: tuple, dtype: str, fill: float) -> np.ndarray:
    with np.errstate(all="ignore"):  # 1e30 as int8 is whatever the cast makes of it
        return np.full(shape, fill).astype(dtype)


ARRAYS = st.one_of(
    st.sampled_from([
        np.array(1), np.array(-1), np.array(2**63 - 1, np.int64), np.array(2**64 - 1, np.uint64), np.array(1.5),
        np.array(np.nan), np.array(np.inf), np.array("text"), np.array(b"bytes"), np.array(True), np.array([]),
        np.zeros((0, 7)), np.zeros(4, np.int64), np.array([2048, 1, 0, 5]), np.array([2**40, 1, 0, 5]),
        np.array([2048.0, 1, 0, 5]), np.array([np.inf, 1, 0, 5]), np.array(["a", "b"]), np.zeros((2, 3, 4)),
        np.ones(3, np.complex128), np.ones((4, 3), np.float16), np.full((4, 3), np.nan), np.full((2,), np.inf),
        np.array([np.inf, 1, 2, 3, 4, 5, 6]).reshape(1, 7), np.arange(100), np.arange(100)[::-1], np.arange(5),
        np.arange(10) + 1000, np.arange(10) - 5, np.array(["2020-01-01"], "datetime64[D]"),
        np.zeros(3, [("a", "i4"), ("b", "f8")]),
    ]),
    st.builds(_filled,
              st.lists(st.integers(0, 5), max_size=3).map(tuple),
              st.sampled_from(["float32", "float64", "int64", "int8", "uint8", "bool", "float16"]),
              st.sampled_from([0, 1, -1, 3, 1e30])),
)
ENTRY_NAMES = ("format", "version", "config", "meta", "order", "batch", "weights/W1", "weights/b1", "weights/W3",
               "weights/b3", "optimizer/t", "optimizer/m/W1", "optimizer/v/b2", "optimizer/m/W9", "history/evaluations",
               "history/loss_steps", "history/loss_values", "history/loss_counts", "history/loss_floats")


@st.composite
def tampered_entries(draw, good: dict[str, np.ndarray]) -> dict:
    """good's entries with some removed, added, replaced by other arrays, or with their JSON changed."""
    arrays = dict(good)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["remove", "remove", "add", "replace", "replace", "config", "meta", "meta",
                                     "rng", "version", "object"]))
        key = draw(st.sampled_from(sorted(arrays) or ["format"]))
        if kind == "remove":
            arrays.pop(key, None)
        elif kind == "add":
            arrays[draw(st.sampled_from(ENTRY_NAMES + ("extra", "weights/W", "optimizer/x")))] = draw(ARRAYS)
        elif kind == "replace":
            arrays[key] = draw(ARRAYS)
        elif kind == "object":
            arrays[key] = np.array([{"pickled": 1}, None], dtype=object)
        elif kind == "version":
            arrays["version"] = draw(st.sampled_from([np.array(0), np.array(2), np.array(1.0), np.array("1"),
                                                     np.array([1]), np.array(-1), np.array(1, np.uint8)]))
        else:  # change a value in the config's or the meta's JSON
            name = "config" if kind == "config" else "meta"
            try:
                table = json.loads(str(arrays.get(name, good[name])))
            except ValueError:
                table = {}
            if not isinstance(table, dict):
                table = {}
            if kind == "rng" and isinstance(table.get("rng_state"), dict):
                rng = table["rng_state"]
                inner = rng.get("state") if isinstance(rng.get("state"), dict) else rng
                inner[draw(st.sampled_from(["state", "inc", "bit_generator", "has_uint32", "uinteger"]))] = \
                    draw(JSON_VALUES)
            else:
                fields = FIELDS if name == "config" else ("step", "elapsed", "n_train", "order_epoch", "state",
                                                          "message", "rng_state")
                field = draw(st.sampled_from(fields + ("unknown",)))
                if draw(st.booleans()):
                    table[field] = draw(JSON_VALUES)
                else:
                    table.pop(field, None)
            arrays[name] = np.array(json.dumps(table) if draw(st.integers(0, 9)) else json.dumps(table)[:-1])
    return arrays


def write_entries(path, arrays: dict) -> None:
    with open(path, "wb") as file:
        np.savez(file, **arrays)  # object arrays are pickled: the file must then be refused


def checkpoint_or_error(path) -> Checkpoint | None:
    try:
        ckpt = load_checkpoint(path)
    except CheckpointError as exc:
        assert str(path) in str(exc), str(exc)
        return None
    assert isinstance(ckpt, Checkpoint)
    return ckpt


def resumes(ckpt: Checkpoint, dataset, tmp_dir) -> None:
    """A checkpoint that loads either is refused on resume (CheckpointError, ConfigError) or resumes:
    the run trains three more steps without failing, and can be snapshot and saved."""
    try:
        config = ckpt.config.replace(steps=ckpt.step + 3, eval_every=2)
        session = TrainingSession.from_checkpoint(ckpt, dataset, config)
    except (CheckpointError, ConfigError):
        return
    session.start()
    final = session.run()
    assert final.state in ("finished", "diverged"), final.message
    assert final.step >= ckpt.step
    session.snapshot(weights=True)
    session.save_checkpoint(tmp_dir / "resumed.npz")
    assert load_checkpoint(tmp_dir / "resumed.npz").step == final.step


@fuzz(300)
@given(data=st.data())
def test_tampered_checkpoint_entries_are_refused_or_resume(good_checkpoint, circle, data):
    good = arrays_of(good_checkpoint)
    arrays = data.draw(tampered_entries(good))
    path = good_checkpoint.parent / "tampered.npz"
    write_entries(path, arrays)
    ckpt = checkpoint_or_error(path)
    if ckpt is not None:
        resumes(ckpt, circle, good_checkpoint.parent)


@fuzz(250)
@given(data=st.data())
def test_damaged_checkpoint_bytes_are_refused_or_resume(good_checkpoint, circle, data):
    good = good_checkpoint.read_bytes()
    damaged = data.draw(st.one_of(
        mutations(good),
        st.integers(0, len(good)).map(lambda cut: good[:cut]),  # truncated at any point
        st.binary(max_size=200).map(lambda junk: b"PK\x03\x04" + junk),
        st.builds(lambda i, junk: good[:i] + junk + good[i:], st.integers(0, len(good)), st.binary(min_size=1)),
    ))
    path = good_checkpoint.parent / "damaged.npz"
    path.write_bytes(damaged)
    ckpt = checkpoint_or_error(path)
    if ckpt is not None:
        resumes(ckpt, circle, good_checkpoint.parent)


def _meta(**changes):
    def change(arrays):
        table = json.loads(str(arrays["meta"]))
        table.update(changes)
        arrays["meta"] = np.array(json.dumps(table))
    return change


def _rng(**changes):
    def change(arrays):
        table = json.loads(str(arrays["meta"]))
        table["rng_state"]["state"].update(changes)
        arrays["meta"] = np.array(json.dumps(table))
    return change


def _entry(key, value):
    return lambda arrays: arrays.__setitem__(key, value)


def _loss_capacity(capacity):
    def change(arrays):
        counts = arrays["history/loss_counts"].copy()
        counts[0] = capacity
        arrays["history/loss_counts"] = counts
    return change


def _first_evaluation_step(value):
    def change(arrays):
        table = arrays["history/evaluations"].copy()
        table[0, 0] = value
        arrays["history/evaluations"] = table
    return change


#: Tamperings that got past load_checkpoint (to fail later) or crashed it with another exception.
REFUSED = {
    "order missing mid-epoch (resume failed with TypeError)": lambda arrays: arrays.pop("order"),
    "random state negative (OverflowError)": _rng(state=-1),
    "random state beyond 128 bits (OverflowError)": _rng(inc=2**200),
    "elapsed too big for a float (OverflowError)": _meta(elapsed=10**400),
    "elapsed nan": _meta(elapsed=math.nan),
    "step too big for a float (resume failed with OverflowError)": _meta(step=10**400),
    "meta a string holding every key (TypeError)": _entry("meta", np.array(json.dumps(
        "step elapsed n_train order_epoch state message rng_state"))),
    "config nested 100000 deep (RecursionError)": _entry("config", np.array("[" * 100000 + "]" * 100000)),
    "config noise too big for a float (OverflowError)": _entry("config", np.array(
        '{"dataset": "circle", "noise": 1' + "0" * 400 + "}")),
    "an evaluation at step inf (OverflowError)": _first_evaluation_step(math.inf),
    "a loss curve of 2^40 points (MemoryError)": _loss_capacity(2**40),
    "a loss curve of 2^26 points (1 GiB reserved)": _loss_capacity(2**26),
    "nan weights (resume diverged at once)": _entry("weights/W2", np.full((4, 3), np.nan, np.float32)),
    "Adam's t beyond int64 (resumed, then saving failed with OverflowError)": _entry(
        "optimizer/t", np.array(2**64 - 1, np.uint64)),
}


@pytest.mark.parametrize("tamper", REFUSED.values(), ids=REFUSED.keys())
def test_tampering_that_once_got_through_is_refused_naming_the_file(good_checkpoint, tmp_path, tamper):
    arrays = arrays_of(good_checkpoint)
    tamper(arrays)
    path = tmp_path / "tampered.npz"
    write_entries(path, arrays)
    with pytest.raises(CheckpointError, match="is not a usable ScratchNet checkpoint") as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)


def test_the_untampered_checkpoint_loads_and_resumes(good_checkpoint, circle, tmp_path):
    ckpt = load_checkpoint(good_checkpoint)
    assert ckpt.step == 13 and ckpt.batch is not None and ckpt.order is not None
    resumes(ckpt, circle, tmp_path)


@pytest.mark.parametrize("member, content", [
    ("format.npy", b"\x93NUMPY junk"), ("weights/W1.npy", b""), ("../escape.npy", b"x"), ("a" * 300 + ".npy", b"x"),
])
def test_zip_members_that_are_not_arrays_are_refused(good_checkpoint, tmp_path, member, content):
    path = tmp_path / "zipped.npz"
    with zipfile.ZipFile(path, "w") as archive:
        with zipfile.ZipFile(good_checkpoint) as original:
            for info in original.infolist():
                if info.filename != member:
                    archive.writestr(info, original.read(info))
        archive.writestr(member, content)
    checkpoint_or_error(path)
