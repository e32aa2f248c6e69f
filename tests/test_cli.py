"""The `scratchnet` command, run as a user runs it: in a subprocess, checking exit codes and output."""

import csv
import dataclasses
import json
import os
import re
import shlex
import subprocess
import sys
import types
from pathlib import Path

import pytest

from core.checkpoint import load_checkpoint
from core.config import FIELDS, TrainConfig
from tests.cli_driving import CIRCLE, ENV, ROOT, interrupt_training, ok, scratchnet
from tui import cli

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


def summary(*args: str) -> dict:
    return json.loads(ok(scratchnet("train", *args, "--json")).stdout)


# ---------------------------------------------------------------------- the command itself


def test_help_lists_the_commands_without_importing_numpy_or_textual():
    """Of the engine, only the settings' table and the checks it raises with (no NumPy) are imported."""
    code = ("import sys; from tui.cli import build_parser; build_parser().format_help(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'textual', 'core')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV)
    assert result.stdout.strip() == "['core', 'core.checks', 'core.settings']", result.stdout + result.stderr
    text = ok(scratchnet("--help")).stdout
    assert all(command in text for command in ("app", "train", "evaluate", "gradcheck", "datasets"))


def test_every_config_field_has_a_flag():
    assert sorted(field for _, field, *_ in cli.CONFIG_FLAGS) == sorted(FIELDS)


class FakeApp:
    """Stands in for tui.app.ScratchNetApp: records what the app would have been opened on."""

    opened: list = []
    return_code = 0
    farewell = ""

    def __init__(self, config=None, *, resume=None) -> None:
        self.config, self.resume = config, resume

    def run(self) -> None:
        FakeApp.opened.append((self.config, self.resume))


@pytest.fixture
def fake_app(monkeypatch) -> list:
    """The app replaced by FakeApp, as if opened at a terminal; the list of what it was opened on."""
    from tui import safety

    fake = types.ModuleType("tui.app")
    fake.ScratchNetApp = FakeApp
    monkeypatch.setitem(sys.modules, "tui.app", fake)
    monkeypatch.setattr(safety, "has_terminal", lambda: True)
    monkeypatch.setattr(FakeApp, "opened", [])
    return FakeApp.opened


def test_no_arguments_opens_the_app(fake_app):
    assert cli.main([]) == 0 and fake_app == [(TrainConfig(), None)]


def test_app_opens_on_the_settings_of_its_flags_and_config_file(fake_app, tmp_path):
    path = tmp_path / "run.toml"
    path.write_text(TrainConfig(dataset="spiral", hidden=(16, 16), optimizer="adam", lr=0.02).toml())
    assert cli.main(["app", "--config", str(path), "--lr", "0.01", "--batch-size", "10"]) == 0
    assert fake_app == [(TrainConfig(dataset="spiral", hidden=(16, 16), optimizer="adam", lr=0.01, batch_size=10), None)]


def test_app_opens_on_a_saved_run_checked_first(fake_app, tmp_path):
    path = str(tmp_path / "run.npz")
    ok(scratchnet("train", *CIRCLE, "--steps", "3", "--save", path))
    assert cli.main(["app", "--resume", path, "--epochs", "50"]) == 0
    (config, resume), = fake_app
    assert resume == path and config == load_checkpoint(path).config.replace(epochs=50, steps=None)  # the new target wins
    assert cli.main(["app", "--resume", path, "--hidden", "9"]) == 2  # not a change a resumed run allows
    assert cli.main(["app", "--resume", path, "--steps", "2"]) == 2  # not past where the run stands
    assert len(fake_app) == 1


def readme_commands() -> list[str]:
    """Every `scratchnet train` and `scratchnet app` command in the README, in backticks or code lines."""
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    quoted = re.findall(r"`(scratchnet (?:train|app) [^`]*)`", text.replace("\n  ", " "))
    lines = [line.split("#")[0].strip() for line in text.splitlines() if line.startswith("    scratchnet ")]
    return quoted + [line for line in lines if line.split()[1] in ("train", "app")]


def test_the_readme_has_commands_to_check():
    assert len(readme_commands()) >= 10


@pytest.mark.parametrize("command", readme_commands())
def test_every_command_in_the_readme_is_valid(command):
    args = cli.build_parser().parse_args(shlex.split(command)[1:])  # exits on an unknown flag
    if not (args.config or args.resume):  # (files of the reader's own)
        cli._config_from_args(args)  # raises ConfigError on a setting out of range


# ---------------------------------------------------------------------- train


def test_train_json_on_mnist_sample():
    result = summary("--epochs", "1", "--hidden", "50")
    assert result["state"] == "finished" and result["steps"] == 80 and result["epochs"] == 1
    assert result["test_accuracy"] > 0.8 and result["train_accuracy"] > 0.8
    assert 0 < result["train_loss"] < 1 and 0 < result["test_loss"] < 1 and result["seconds"] > 0
    assert result["layers"] == [784, 50, 10]


def test_train_json_on_a_2d_problem_with_progress_on_stderr():
    result = ok(scratchnet("train", *CIRCLE, "--epochs", "30", "--optimizer", "adam", "--lr", "0.05", "--json"))
    data = json.loads(result.stdout)
    assert data["state"] == "finished" and data["steps"] == 300 and data["test_accuracy"] > 0.85
    assert "step 300/300" in result.stderr and "steps/s" in result.stderr


def test_train_prints_a_readable_summary():
    result = ok(scratchnet("train", *CIRCLE, "--epochs", "2"))
    assert result.stdout.startswith("finished: 20 steps (2.00 epochs) of 2-8-2 on circle")
    assert "test  loss" in result.stdout


def test_save_then_evaluate_then_resume_exactly(tmp_path):
    path = str(tmp_path / "run.npz")
    trained = summary(*CIRCLE, "--epochs", "2", "--save", path)
    assert trained["checkpoint"] == path and load_checkpoint(path).step == 20

    report = ok(scratchnet("evaluate", path))
    assert "confusion matrix" in report.stdout and "1 positive" in report.stdout
    evaluation = json.loads(ok(scratchnet("evaluate", path, "--json")).stdout)
    assert evaluation["accuracy"] == trained["test_accuracy"] and evaluation["rows"] == 100
    assert sum(map(sum, evaluation["confusion_matrix"])) == 100
    assert [c["name"] for c in evaluation["classes"]] == ["negative", "positive"]

    resumed = summary("--resume", path, "--epochs", "4")
    straight = summary(*CIRCLE, "--epochs", "4")
    for key in ("steps", "train_loss", "test_loss", "test_accuracy"):
        assert resumed[key] == straight[key], key


def test_evaluate_on_data_of_another_shape_is_a_usage_error(tmp_path):
    path = str(tmp_path / "run.npz")
    ok(scratchnet("train", *CIRCLE, "--epochs", "1", "--save", path))
    result = ok(scratchnet("evaluate", path, "--dataset", "mnist-sample"), code=2)
    assert "2 inputs and 2 outputs" in result.stderr and "784 features" in result.stderr


def test_metrics_are_written_as_csv(tmp_path):
    path = tmp_path / "metrics.csv"
    ok(scratchnet("train", *CIRCLE, "--epochs", "3", "--metrics", str(path)))
    rows = list(csv.DictReader(path.open()))
    assert [int(row["step"]) for row in rows] == [10, 20, 30]
    assert {"train_accuracy", "test_accuracy", "test_loss", "elapsed"} <= set(rows[0])


def test_flags_override_the_config_file_and_print_config_round_trips(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('dataset = "xor"\nhidden = [4, 4]\nepochs = 7\nlr = 0.5\n')
    printed = ok(scratchnet("train", "--config", str(config), "--epochs", "2", "--init", "0.1",
                            "--optimizer", "momentum", "--optimizer-param", "momentum=0.8", "--print-config")).stdout
    settings = tomllib.loads(printed)
    assert (settings["dataset"], settings["hidden"], settings["epochs"], settings["lr"]) == ("xor", [4, 4], 2, 0.5)
    assert settings["weight_init"] == 0.1 and settings["optimizer_params"] == {"momentum": 0.8}
    again = tmp_path / "again.toml"
    again.write_text(printed)
    assert ok(scratchnet("train", "--config", str(again), "--print-config")).stdout == printed


def test_a_diverging_run_exits_1_with_the_remedy():
    result = ok(scratchnet("train", *CIRCLE, "--lr", "1e6", "--init", "5", "--epochs", "50", "--json"), code=1)
    assert json.loads(result.stdout)["state"] == "diverged"
    assert "lower the learning rate" in result.stderr


def test_ctrl_c_stops_cleanly_saves_and_exits_130(tmp_path):
    path = tmp_path / "interrupted.npz"
    code, stdout, stderr = interrupt_training([*CIRCLE, "--steps", "100000000", "--save", str(path), "--json"],
                                              cwd=tmp_path)
    assert code == 130, stderr
    assert "Traceback" not in stderr and "stopping" in stderr
    assert json.loads(stdout)["state"] == "stopped"
    assert load_checkpoint(path).step > 0


# ---------------------------------------------------------------------- mistakes: exit 2, a message, no traceback


@pytest.mark.parametrize("args, fragment", [
    (["train", "--lr", "abc"], "argument --lr: 'abc' is not a number"),
    (["train", "--init", "glorot"], "argument --init/--weight-init: choose xavier or he or a standard deviation"),
    (["train", "--hidden", "10,x"], "layer sizes like 100,50"),
    (["train", "--activation", "swish"], "activation='swish'"),
    (["train", "--batch-size", "0"], "batch_size=0"),
    (["train", "--bogus"], "unrecognized arguments: --bogus"),
    (["train", "--optimizer-param", "momentum=0.9"], "hyperparameters of sgd"),
    (["train", "--optimizer-param", "momentum"], "NAME=NUMBER"),
    (["train", "--dataset", "circle", "--batch-size", "1000"], "batch_size=1000"),
    (["train", "--hidden", "1000000,1000000"], "784-1000000-1000000-10 would need"),
    (["train", "--config", "missing.toml"], "no config file at missing.toml"),
    (["train", "--resume", "missing.npz"], "no checkpoint file at missing.npz"),
    (["evaluate", "missing.npz"], "no checkpoint file at missing.npz"),
    (["gradcheck", "--batch", "0"], "--batch must be at least 1"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["app", "--lr", "-1"], "lr=-1.0"),
    (["app", "--resume", "missing.npz"], "no checkpoint file at missing.npz"),
    (["app", "--resume", "missing.npz", "--config", "run.toml"], "--config cannot be combined with --resume"),
])
def test_bad_usage_exits_2_with_a_message(args, fragment):
    result = ok(scratchnet(*args), code=2)
    assert fragment in result.stderr


@pytest.mark.parametrize("text, fragment", [
    ("learning_rate = 0.1\n", "unknown key 'learning_rate'"),
    ('epochs = "ten"\n', "epochs='ten'"),
    ("hidden = [100, 0]\n", "hidden=[100, 0]"),
    ("[network\nhidden = 3\n", "not valid TOML"),
])
def test_bad_config_files_exit_2_naming_the_file_and_the_problem(tmp_path, text, fragment):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    result = ok(scratchnet("train", "--config", str(path)), code=2)
    assert fragment in result.stderr and str(path) in result.stderr


def test_a_checkpoint_that_is_not_one_exits_2(tmp_path):
    path = tmp_path / "fake.npz"
    path.write_bytes(b"not a checkpoint at all")
    result = ok(scratchnet("evaluate", str(path)), code=2)
    assert "is not a ScratchNet checkpoint" in result.stderr


# ---------------------------------------------------------------------- gradcheck, datasets


def test_gradcheck_prints_the_table_and_its_notes():
    result = ok(scratchnet("gradcheck", "--dataset", "circle", "--hidden", "4", "--activation", "tanh"))
    assert "parameter" in result.stdout and "max rel error" in result.stdout and "verdict:" in result.stdout
    report = json.loads(ok(scratchnet("gradcheck", "--dataset", "circle", "--hidden", "4", "--json")).stdout)
    assert [row["parameter"] for row in report["rows"]] == ["W1", "b1", "W2", "b2"]
    assert report["batch_size"] == 5 and report["notes"]


def test_gradcheck_samples_entries_of_a_big_network():
    report = json.loads(ok(scratchnet("gradcheck", "--sample", "3", "--batch", "2", "--json")).stdout)
    assert [row["checked"] for row in report["rows"]] == [3, 3, 3, 3]


def test_datasets_lists_what_is_available_and_where():
    text = ok(scratchnet("datasets")).stdout
    assert all(name in text for name in ("mnist-sample", "fashion-mnist", "spiral", "bundled"))
    listed = json.loads(ok(scratchnet("datasets", "--json")).stdout)["datasets"]
    sample = next(d for d in listed if d["name"] == "mnist-sample")
    assert sample["available"] is True and os.path.isdir(sample["location"])


def test_print_config_with_json_prints_the_settings_as_json():
    printed = ok(scratchnet("train", *CIRCLE, "--epochs", "3", "--print-config", "--json")).stdout
    assert json.loads(printed) == TrainConfig(dataset="circle", n_samples=200, hidden=(8,), batch_size=10,
                                              epochs=3).to_dict()


def test_the_noise_flag_says_what_noise_does_to_each_2d_problem():
    from core.datasets.toy2d import GENERATORS

    help_text, = (text for _, field, _, _, text in cli.CONFIG_FLAGS if field == "noise")
    assert all(problem in help_text for problem in GENERATORS)
    assert "labels" in help_text and "jitter" in help_text


# ---------------------------------------------------------------------- train --resume with a new target


@pytest.fixture
def run_of_24_steps(tmp_path) -> str:
    """A circle run saved at step 24 of a --steps 24 target (10 steps per epoch)."""
    path = str(tmp_path / "run.npz")
    ok(scratchnet("train", *CIRCLE, "--steps", "24", "--save", path))
    return path


def test_a_new_epochs_target_replaces_a_saved_steps_target(run_of_24_steps):
    assert summary("--resume", run_of_24_steps, "--epochs", "5")["steps"] == 50
    assert summary("--resume", run_of_24_steps, "--epochs", "5", "--steps", "30")["steps"] == 30


@pytest.mark.parametrize("target", [["--steps", "10"], ["--steps", "24"], ["--epochs", "2"]])
def test_a_target_at_or_below_the_saved_step_is_a_usage_error_saying_where_the_run_stands(run_of_24_steps, target):
    result = ok(scratchnet("train", "--resume", run_of_24_steps, *target), code=2)
    assert f"{' '.join(target)}" in result.stderr and "the run is at step 24 of 24" in result.stderr
    assert "expected --steps above 24 or --epochs above 2" in result.stderr
    assert len(result.stderr.splitlines()) == 1  # the message alone: nothing was trained


# ---------------------------------------------------------------------- evaluate


def test_evaluate_prints_each_class_once(tmp_path):
    path = str(tmp_path / "digits.npz")
    ok(scratchnet("train", "--hidden", "5", "--steps", "1", "--save", path))
    report = ok(scratchnet("evaluate", path)).stdout
    rows = [line.split() for line in report.splitlines()[4:14]]
    assert [row[0] for row in rows] == [str(digit) for digit in range(10)]
    assert all(len(row) == 3 for row in rows), report  # class, rows, accuracy: not "0 0"


def test_evaluate_ignores_the_data_dir_a_checkpoint_names(tmp_path, monkeypatch):
    """A checkpoint is data, not instructions: evaluating one downloads nothing into a folder it names."""
    from core.checkpoint import save_checkpoint
    from core.datasets import download

    path, evil = str(tmp_path / "run.npz"), tmp_path / "evil"
    ok(scratchnet("train", "--hidden", "5", "--steps", "1", "--save", path))
    ckpt = load_checkpoint(path)
    save_checkpoint(path, dataclasses.replace(ckpt, config=ckpt.config.replace(dataset="mnist", data_dir=str(evil))))
    monkeypatch.setenv("SCRATCHNET_DATA", str(tmp_path / "env-data"))
    monkeypatch.setattr(download, "user_cache_dir", lambda: tmp_path / "cache")
    targets = []

    def no_network(source, file_name, target, progress, timeout):  # as the real one: makes the folder first
        target.mkdir(parents=True, exist_ok=True)
        targets.append(target)
        return [f"{file_name}: cannot connect"]

    monkeypatch.setattr(download, "_download", no_network)
    assert cli.main(["evaluate", path]) == 1  # nothing to evaluate on, offline
    assert not evil.exists() and targets and all(tmp_path / "env-data" in t.parents for t in targets)
    assert cli.main(["evaluate", path, "--data-dir", str(tmp_path / "mine")]) == 1  # a folder the user names
    assert tmp_path / "mine" in targets[-1].parents and not evil.exists()


# ---------------------------------------------------------------------- gradcheck


@pytest.mark.parametrize("flag", [flags[0] for flags, field, *_ in cli.CONFIG_FLAGS if field in cli.GRADCHECK_IGNORES])
def test_gradcheck_refuses_the_training_flags_it_would_ignore(flag):
    value = {"--optimizer-param": "momentum=0.9", "--optimizer": "adam", "--gradient": "numerical",
             "--sampling": "random"}.get(flag, "3")
    result = ok(scratchnet("gradcheck", "--dataset", "circle", "--hidden", "4", flag, value), code=2)
    assert f"gradcheck does not use {flag}" in result.stderr


def test_gradcheck_ignores_exactly_the_training_settings(tmp_path):
    """Its result is the same whatever the ignored fields hold, in a config file (which may hold them)."""
    training = TrainConfig(dataset="circle", hidden=(4,), optimizer="momentum", optimizer_params={"momentum": 0.5},
                           lr=0.5, batch_size=7, epochs=3, steps=9, gradient="numerical", sampling="random",
                           eval_every=2, eval_samples=11)
    assert {field for field in FIELDS if getattr(training, field) != getattr(TrainConfig(), field)} \
        == {"dataset", "hidden", *cli.GRADCHECK_IGNORES}
    path = tmp_path / "run.toml"
    path.write_text(training.toml())
    checked = json.loads(ok(scratchnet("gradcheck", "--config", str(path), "--json")).stdout)
    plain = json.loads(ok(scratchnet("gradcheck", "--dataset", "circle", "--hidden", "4", "--json")).stdout)
    assert checked == plain


def test_gradcheck_wraps_its_notes_to_the_terminal():
    result = ok(scratchnet("gradcheck", "--dataset", "circle", "--hidden", "4", "--activation", "relu",
                           env={**ENV, "COLUMNS": "50"}))
    notes = [line for line in result.stdout.splitlines() if line.startswith(("* ", "  "))]
    assert len(notes) > 2 and max(map(len, notes)) <= 50, result.stdout


def test_a_network_too_large_for_memory_is_refused_before_the_app_or_the_data(fake_app, capsys):
    assert cli.main(["app", "--hidden", "1000000,1000000"]) == 2
    assert fake_app == []  # the screen was never taken over
    assert "would need about" in capsys.readouterr().err


def test_a_reader_that_goes_away_ends_the_output_quietly(tmp_path):
    """`scratchnet evaluate run.npz | head -1`: once head has exited, the writes fail (EPIPE)."""
    path = str(tmp_path / "run.npz")
    ok(scratchnet("train", *CIRCLE, "--steps", "3", "--save", path))
    reader = subprocess.Popen([sys.executable, "-m", "tui.cli", "evaluate", path], cwd=ROOT, env=ENV,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    reader.stdout.close()  # the reader is gone before the first line
    _, errors = reader.communicate(timeout=60)
    assert reader.returncode == 1 and b"Traceback" not in errors, errors.decode()
