"""Config files are read within bounds: a regular file below a size cap, nested only so deep."""

import os

import pytest

from core.config import MAX_CONFIG_BYTES, MAX_TOML_DEPTH, ConfigError, TrainConfig


def refused(path) -> str:
    with pytest.raises(ConfigError) as info:
        TrainConfig.from_toml(path)
    return str(info.value)


def test_an_endless_device_or_a_pipe_without_a_writer_is_refused_at_once(tmp_path):
    assert refused("/dev/zero") == "config file /dev/zero: is a device, not a file"
    fifo = tmp_path / "run.toml"
    os.mkfifo(fifo)  # opening it to read would wait for a writer forever
    assert refused(fifo) == f"config file {fifo}: is a pipe (FIFO), not a file"


def test_a_file_bigger_than_any_config_is_refused_unread(tmp_path):
    path = tmp_path / "big.toml"
    path.write_bytes(b"# " + b"x" * MAX_CONFIG_BYTES + b"\n")
    assert f"config file {path}: is {MAX_CONFIG_BYTES + 3:,} bytes, more than the {MAX_CONFIG_BYTES:,}" in refused(path)


@pytest.mark.parametrize("depth", [100_000, 5_000, MAX_TOML_DEPTH + 1])
@pytest.mark.parametrize("shape", ["array", "inline table", "table header", "dotted key"])
def test_deep_nesting_is_a_config_error_not_a_recursion_error(tmp_path, shape, depth):
    text = {
        "array": "x = " + "[" * depth + "]" * depth,
        "inline table": "x = " + "{a = " * depth + "1" + "}" * depth,
        "table header": "[" + ".".join(["a"] * depth) + "]",
        "dotted key": ".".join(["a"] * depth) + " = 1",
    }[shape]
    path = tmp_path / "deep.toml"
    path.write_text(text + "\n")
    message = refused(path)
    if len(text) > MAX_CONFIG_BYTES:
        assert "more than the" in message
    else:
        assert message == (f"config file {path} nests tables or arrays more than {MAX_TOML_DEPTH} deep "
                           "(a config needs 2: a list of layer sizes, the optimizer's table)")


def test_the_nesting_a_config_needs_is_read(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('hidden = [8, 8]\noptimizer = "adam"\n[optimizer_params]\nbeta1 = 0.8\n')
    assert TrainConfig.from_toml(path).optimizer_params == (("beta1", 0.8),)


def test_an_unknown_key_names_the_file_once(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text("learning_rate = 0.1\n")
    message = refused(path)
    assert message.startswith(f"config file {path}: unknown key 'learning_rate'") and message.count(str(path)) == 1
