"""core.settings: one description of every setting, read by the CLI and the form alike."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult

from core.checks import ConfigError
from core.config import FIELDS, GRADIENTS, SAMPLINGS, TrainConfig
from core.network import DTYPES, WEIGHT_INITS
from core.optimizers import OPTIMIZERS
from core.settings import SETTINGS
from tui import cli
from tui.components.config_form import ConfigForm, FieldRow, fmt_value

#: Columns of the form's label (FieldRow's grid-columns: 11, one of them a gap).
LABEL_WIDTH = 10


def test_every_config_field_is_described_once_in_the_configs_order():
    assert tuple(SETTINGS) == FIELDS
    assert all(name == setting.name for name, setting in SETTINGS.items())
    assert all(0 < len(setting.label) <= LABEL_WIDTH for setting in SETTINGS.values())
    flags = [flag for setting in SETTINGS.values() for flag in setting.flags]
    assert len(flags) == len(set(flags))


def test_the_cli_flags_are_the_settings():
    assert [(flags, field, metavar, help_text) for flags, field, _, metavar, help_text in cli.CONFIG_FLAGS] \
        == [(s.flags, s.name, s.metavar, s.help) for s in SETTINGS.values()]


@pytest.mark.parametrize("name, choices", [
    ("optimizer", OPTIMIZERS), ("gradient", GRADIENTS), ("sampling", SAMPLINGS), ("dtype", DTYPES),
    ("weight_init", WEIGHT_INITS),
])
def test_a_help_that_lists_the_choices_lists_them_all(name, choices):
    """The help is written out (this module imports no NumPy); a choice added elsewhere must be added here."""
    words = set(SETTINGS[name].help.replace(",", " ").replace("(", " ").split())
    assert set(choices) <= words


@pytest.mark.parametrize("name, text, value", [
    ("hidden", "100,50", (100, 50)), ("hidden", "100, 50", (100, 50)), ("hidden", "100 50;3", (100, 50, 3)),
    ("hidden", "none", ()), ("hidden", " None ", ()), ("hidden", "", ()),
    ("weight_init", "he", "he"), ("weight_init", " Xavier", "xavier"), ("weight_init", "0.01", 0.01),
    ("optimizer_params", "momentum=0.9", ("momentum", 0.9)), ("optimizer_params", " beta1 =0.8", ("beta1", 0.8)),
    ("lr", "1e-3", 0.001), ("lr", " 0.5 ", 0.5), ("epochs", "1_000", 1000), ("seed", " 7", 7),
    ("dataset", "circle", "circle"), ("data_dir", "~/data", "~/data"),
])
def test_a_setting_reads_what_a_person_types(name, text, value):
    assert SETTINGS[name].parse(text) == value


@pytest.mark.parametrize("name, text, reason", [
    ("hidden", "10,x", "'x' is not a whole number; write layer sizes like 100,50"),
    ("hidden", "10,-3", "layer sizes must be >= 1, got -3"),
    ("weight_init", "glorot", "choose (he|xavier) or (he|xavier) or a standard deviation such as 0.01"),
    ("weight_init", "-1", "a standard deviation must be a positive number"),
    ("weight_init", "nan", "a standard deviation must be a positive number"),
    ("optimizer_params", "momentum", "expected NAME=NUMBER"),
    ("optimizer_params", "=0.9", "expected NAME=NUMBER"),
    ("lr", "abc", "'abc' is not a number"), ("lr", "", "required: a number"),
    ("lr", "inf", "'inf' is not a finite number"),
    ("epochs", "1.5", "'1.5' is not a whole number"), ("seed", " ", "required: a whole number"),
])
def test_a_setting_refuses_text_of_the_wrong_kind_naming_itself(name, text, reason):
    with pytest.raises(ConfigError, match=reason) as caught:
        SETTINGS[name].parse(text)
    assert caught.value.field == name


def test_every_value_the_form_shows_reads_back_as_itself():
    config = TrainConfig(dataset="circle", data_dir="data", noise=0.1, subset_per_class=5, hidden=(8, 4),
                         weight_init=0.01, lr=0.03, steps=40, weight_decay=1e-4)
    for name in FIELDS:
        value = getattr(config, name)
        if name != "optimizer_params":
            assert SETTINGS[name].parse(fmt_value(value)) == value, name


@pytest.mark.parametrize("text, hidden", [("8 4", (8, 4)), ("none", ())])
def test_the_cli_reads_hidden_sizes_as_the_form_does(text, hidden):
    """Before, --hidden refused spaces and the form refused "none"."""
    args = cli.build_parser().parse_args(["train", "--hidden", text])
    assert args.hidden == hidden


def test_the_cli_says_a_wrong_kind_of_value_in_the_forms_words(capsys):
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["train", "--hidden", "10,-3"])
    assert "argument --hidden: layer sizes must be >= 1, got -3" in capsys.readouterr().err


class FormApp(App):
    """The form alone, on a small config."""

    def compose(self) -> ComposeResult:
        yield ConfigForm(TrainConfig(dataset="circle", hidden=(8,), n_samples=100))


async def test_the_form_reads_none_as_no_hidden_layer_and_labels_rows_as_the_settings_do():
    async with FormApp().run_test(size=(80, 24)) as pilot:
        form = pilot.app.query_one(ConfigForm)
        form.set_value("hidden", "none")
        await pilot.pause()
        config, errors = form.build()
        assert errors == {} and config.hidden == ()
        for row in form.query(FieldRow):
            if row.field in SETTINGS:
                assert row.label == SETTINGS[row.field].label


async def test_the_form_marks_a_wrong_kind_of_value_with_the_settings_reason():
    async with FormApp().run_test(size=(80, 24)) as pilot:
        form = pilot.app.query_one(ConfigForm)
        form.set_value("weight_init", "glorot")
        await pilot.pause()
        with pytest.raises(ConfigError) as caught:
            SETTINGS["weight_init"].parse("glorot")
        assert form.errors["weight_init"] == str(caught.value)
