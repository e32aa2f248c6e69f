"""The configuration pane: one compact row per TrainConfig field a learner changes.

The form is a view of a `TrainConfig`: `build()` turns what is typed into a validated config, or into
the reasons it is not one, keyed by config field. Each invalid field is marked where it is (a red edge
and the reason under it) as soon as it is typed; the app refuses to start a run while any remains.
Fields the form does not show (dtype, sampling, eval_every, ...) pass through from the config it was
given. Each row's label and the parser of what is typed in it are its setting's (core.settings), as
the CLI's flags are.
"""

from __future__ import annotations

import string
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.suggester import SuggestFromList
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static

from core.config import GRADIENTS, ConfigError, TrainConfig
from core.datasets import DATASETS
from core.layers import LOSSES, OUTPUTS
from core.network import ACTIVATIONS, WEIGHT_INITS
from core.optimizers import DEFAULTS, OPTIMIZERS
from core.settings import SETTINGS, parse_number
from tui.messages import ConfigEdited

#: Every optimizer hyperparameter other than lr, in a stable order: momentum, decay_rate, beta1, beta2.
OPTIMIZER_PARAMS = tuple(dict.fromkeys(p for d in DEFAULTS.values() for p in d if p != "lr"))
PARAM_LABELS = {"momentum": "momentum", "decay_rate": "decay rate", "beta1": "beta1", "beta2": "beta2"}
GRADIENT_HINTS = {
    "numerical": "slow on purpose: forward passes for every weight, every step; use a tiny network",
}
#: Settings that suit each kind of dataset: TF Playground's for the 2-D problems, TrainConfig's own
#: for images. Choosing a dataset of another kind brings its values into the fields still at the
#: values of the kind left behind (the fields the user has not set).
FAMILY_DEFAULTS = {
    "2d": {"batch_size": 10, "lr": 0.03},
    "image": {"batch_size": TrainConfig.batch_size, "lr": TrainConfig.lr},
}


def dataset_kind(name: object) -> str | None:
    """The kind of a registered dataset ("image" or "2d"), else None."""
    return DATASETS[name].kind if isinstance(name, str) and name in DATASETS else None


class TextField(Input):
    """An Input that claims the keys it types (letters, digits, punctuation, space): while it has the
    focus, the footer offers only keys that work here (f1 for help, not ?), not the app's one-key
    commands, which would type here instead. (The bindings never run: the Input takes those keys first.)"""

    TYPED = string.digits + string.ascii_letters + string.punctuation.replace(",", "")
    BINDINGS = [Binding(",".join([*TYPED, "comma", "space"]), "typed", "Typed", show=False)]


def parse_field(field: str, text: str) -> Any:
    """What is typed in a field, read by its setting's parser (core.settings); an optimizer
    hyperparameter's row reads a number. ConfigError, naming the field, if it is not that kind of value."""
    if field in OPTIMIZER_PARAMS:
        return parse_number(f"optimizer_params.{field}", text)
    return SETTINGS[field].parse(text)


def fmt_value(value: Any) -> str:
    """A value as the form shows it; a float reads back as the same float (0.1, not 0.1000000001)."""
    if isinstance(value, (tuple, list)):
        return ",".join(str(v) for v in value)
    if isinstance(value, float):
        short = f"{value:g}"
        return short if float(short) == value else repr(value)
    return "" if value is None else str(value)


def error_field(error: Exception, known: set[str]) -> str | None:
    """The form field an error is about: its `field` attribute (core.checks.ConfigError). A
    hyperparameter ("optimizer_params.<name>") is its own field if the form has it, else the
    optimizer's; an error without a field is about no field in particular."""
    field = getattr(error, "field", None)
    if field is None:
        return None
    field, _, sub = field.partition(".")
    if field == "optimizer_params":
        return sub if sub in known else "optimizer"
    return field if field in known else None


class FieldRow(Widget):
    """A label and its control on one line, and under them a note: the reason the value is wrong
    (marked "✗", in the error colour), else a hint, else nothing."""

    DEFAULT_CSS = """
    FieldRow {
        layout: grid;
        grid-size: 2;
        grid-columns: 11 1fr;
        grid-rows: 1 auto;
        height: auto;
    }
    FieldRow > .field-note { column-span: 2; }
    """

    def __init__(self, field: str, label: str, control: Widget, *, hint: str = "") -> None:
        super().__init__(id=f"row-{field}", classes="field-row")
        self.field = field
        self.label = label
        self.control = control
        self.hint = hint
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        yield Label(self.label, classes="field-label")
        yield self.control
        yield Static(self.hint, classes="field-note", markup=False)

    def on_mount(self) -> None:
        self._show_note()

    def set_error(self, message: str | None) -> None:
        if message == self.error:
            return
        self.error = message
        self.set_class(bool(message), "-invalid")
        self._show_note()

    def set_hint(self, hint: str) -> None:
        self.hint = hint
        self._show_note()

    @property
    def note(self) -> str:
        return f"✗ {self.error}" if self.error else self.hint

    def _show_note(self) -> None:
        widget = self.query_one(".field-note", Static)
        widget.update(self.note)
        widget.display = bool(self.note)


class ConfigForm(VerticalScroll):
    """The configuration pane. `build()` -> (config or None, {field: reason})."""

    BINDINGS = [Binding("escape", "app.focus_views", "Leave form", show=False)]

    def __init__(self, config: TrainConfig, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.base = config
        self.kind = dataset_kind(config.dataset)  # the kind of dataset the fields' values suit
        self.errors: dict[str, str] = {}
        self._status = ""

    # --------------------------------------------------------------------------- composing

    def _input(self, field: str, value: Any, **kwargs: Any) -> Input:
        return TextField(fmt_value(value), id=f"f-{field}", compact=True, select_on_focus=False, **kwargs)

    def _select(self, field: str, options: list[tuple[str, Any]], value: Any) -> Select:
        return Select(options, value=value, allow_blank=False, id=f"f-{field}", compact=True)

    def _row(self, field: str, control: Widget, *, hint: str = "") -> FieldRow:
        """The row of a TrainConfig field, labelled as core.settings names it."""
        return FieldRow(field, SETTINGS[field].label, control, hint=hint)

    def compose(self) -> ComposeResult:
        c = self.base
        params = self._params_of(c)
        yield Static("", id="form-status")
        yield Static("Data", classes="form-heading -first")
        yield self._row("dataset", self._select("dataset", [(n, n) for n in DATASETS], c.dataset),
                        hint=DATASETS[c.dataset].description if c.dataset in DATASETS else "")
        yield self._row("noise", self._input("noise", c.noise, placeholder="0 .. 0.5"))
        yield self._row("n_samples", self._input("n_samples", c.n_samples))
        yield Static("Network", classes="form-heading")
        yield self._row("hidden", self._input("hidden", c.hidden, placeholder="e.g. 100,50"))
        yield self._row("activation", self._select("activation", [(a, a) for a in ACTIVATIONS], c.activation))
        yield self._row("output", self._select("output", [(o, o) for o in OUTPUTS], c.output))
        yield self._row("loss", self._select("loss", [(x, x) for x in LOSSES], c.loss))
        yield self._row("weight_init", self._input(
            "weight_init", c.weight_init, placeholder="he|xavier|0.01",
            suggester=SuggestFromList(list(WEIGHT_INITS), case_sensitive=False)))
        yield Static("Training", classes="form-heading")
        yield self._row("optimizer", self._select("optimizer", [(o, o) for o in OPTIMIZERS], c.optimizer))
        for name in OPTIMIZER_PARAMS:
            yield FieldRow(name, PARAM_LABELS.get(name, name), self._input(name, params[name]))
        yield self._row("lr", self._input("lr", c.lr))
        yield self._row("batch_size", self._input("batch_size", c.batch_size))
        yield self._row("epochs", self._input("epochs", c.epochs))
        yield self._row("weight_decay", self._input("weight_decay", c.weight_decay))
        yield self._row("gradient", self._select("gradient", [(g, g) for g in GRADIENTS], c.gradient),
                        hint=GRADIENT_HINTS.get(c.gradient, ""))
        yield self._row("seed", self._input("seed", c.seed))

    def on_mount(self) -> None:
        self._show_relevant()
        self.set_status("")
        self.call_after_refresh(self._show_hidden_sizes)

    def _show_hidden_sizes(self) -> None:
        """Under a hidden-size list too long for its field, the whole list (so nothing is cut at 80x24)."""
        control = self.query_one("#f-hidden", Input)
        try:
            sizes = SETTINGS["hidden"].parse(control.value)
        except ConfigError:
            sizes = ()
        fits = len(control.value) < (control.content_size.width or len(control.value) + 1)
        layers = f"{len(sizes)} hidden layer{'s' * (len(sizes) != 1)}"
        self.query_one("#row-hidden", FieldRow).set_hint("" if fits or not sizes else
                                                         f"{layers}: {', '.join(map(str, sizes))}")

    @property
    def status_text(self) -> str:
        return self._status

    def set_status(self, text: str) -> None:
        """A line at the top of the form: whether it still describes the run ("" hides it)."""
        self._status = text
        line = self.query_one("#form-status", Static)
        line.update(text)
        line.display = bool(text)

    @staticmethod
    def _params_of(config: TrainConfig) -> dict[str, float]:
        """Every optimizer hyperparameter's value: the config's where it sets one, else the default."""
        values: dict[str, float] = {}
        for defaults in DEFAULTS.values():
            for name, default in defaults.items():
                values.setdefault(name, default)
        values.update(dict(getattr(config, "optimizer_params", None) or {}))
        return values

    def _show_relevant(self) -> None:
        """Show the rows that apply: the optimizer's own parameters, noise and points for 2-D data."""
        optimizer = self.query_one("#f-optimizer", Select).value
        for name in OPTIMIZER_PARAMS:
            self.query_one(f"#row-{name}").display = name in DEFAULTS.get(str(optimizer), {})
        dataset = self.query_one("#f-dataset", Select).value
        is_2d = dataset in DATASETS and DATASETS[str(dataset)].kind == "2d"
        self.query_one("#row-noise").display = is_2d
        self.query_one("#row-n_samples").display = is_2d

    # --------------------------------------------------------------------------- the config

    def set_config(self, config: TrainConfig) -> None:
        """Show `config` (e.g. one loaded from a checkpoint); it becomes the base for hidden fields."""
        self.base = config
        self.kind = dataset_kind(config.dataset)  # its values are the user's: no family defaults
        params = self._params_of(config)
        for field, control in self._controls().items():
            value = params.get(field) if field in OPTIMIZER_PARAMS else getattr(config, field, None)
            if isinstance(control, Select):
                control.value = value
            else:
                control.value = fmt_value(value)
        self._show_relevant()
        self.validate()

    def set_value(self, field: str, value: Any) -> None:
        """Show `value` in one field (e.g. the learning rate after [ or ]), and take it into the base."""
        control = self._controls()[field]
        control.value = value if isinstance(control, Select) else fmt_value(value)
        if field in TrainConfig.__dataclass_fields__:
            try:
                self.base = self.base.replace(**{field: value})
            except ConfigError:
                pass
        self.validate()

    @property
    def field_names(self) -> list[str]:
        return list(self._controls())

    @property
    def focused_field(self) -> Widget | None:
        """The form's control that has the focus, if any."""
        focused = self.screen.focused
        return focused if focused is not None and focused in self._controls().values() else None

    def _controls(self) -> dict[str, Input | Select]:
        return {str(w.id)[2:]: w for w in self.query("Input, Select") if w.id and str(w.id).startswith("f-")}

    def build(self) -> tuple[TrainConfig | None, dict[str, str]]:
        """The config the form describes, or None and the reason for each invalid field.

        An optimizer hyperparameter at its default is left unset unless the base config sets it, so
        that a config shown unchanged builds back equal (Adam's betas shown are not betas set).
        """
        controls = self._controls()
        explicit = dict(self.base.optimizer_params)
        errors: dict[str, str] = {}
        values: dict[str, Any] = {}
        optimizer = str(controls["optimizer"].value)
        dataset = str(controls["dataset"].value)
        is_2d = dataset in DATASETS and DATASETS[dataset].kind == "2d"
        params: dict[str, float] = {}
        for field, control in controls.items():
            if field in OPTIMIZER_PARAMS and field not in DEFAULTS.get(optimizer, {}):
                continue
            if field in ("noise", "n_samples") and not is_2d:
                continue
            if isinstance(control, Select):
                values[field] = control.value
                continue
            try:
                value = parse_field(field, control.value)
            except ConfigError as error:
                errors[field] = str(error)
                continue
            if field in OPTIMIZER_PARAMS:
                if field in explicit or value != DEFAULTS[optimizer][field]:
                    params[field] = value
            else:
                values[field] = value
        values["optimizer_params"] = params
        if errors:
            return None, errors
        try:
            config = self.base.replace(**values)
        except (ConfigError, ValueError, TypeError) as error:
            known = set(controls) | {"optimizer_params"}
            field = error_field(error, known) or "_form"
            if field == "optimizer_params":
                field = "optimizer"
            return None, {field: str(error)}
        return config, {}

    def validate(self) -> dict[str, str]:
        """Mark every field with its error (or clear it); returns {field: reason}."""
        _, errors = self.build()
        self.show_errors(errors)
        return errors

    def show_errors(self, errors: dict[str, str]) -> None:
        self.errors = dict(errors)
        for row in self.query(FieldRow):
            row.set_error(errors.get(row.field))
        # an error that is about no field in particular ("_form") is said when a run is refused

    # ------------------------------------------------------------------------------ events

    @on(Input.Changed)
    @on(Select.Changed)
    def _edited(self, event: Input.Changed | Select.Changed) -> None:
        event.stop()
        if not self.is_mounted:
            return
        control_id = str(event.control.id or "")
        if control_id == "f-dataset":
            name = str(event.value)
            self.query_one("#row-dataset", FieldRow).set_hint(DATASETS[name].description if name in DATASETS else "")
            self._bring_family_defaults(dataset_kind(name))
        elif control_id == "f-gradient":
            self.query_one("#row-gradient", FieldRow).set_hint(GRADIENT_HINTS.get(str(event.value), ""))
        elif control_id == "f-hidden":
            self._show_hidden_sizes()
        if control_id in ("f-dataset", "f-optimizer"):
            self._show_relevant()
        self.post_message(ConfigEdited(self.validate()))

    def _bring_family_defaults(self, kind: str | None) -> None:
        """Moving to another kind of dataset: each field still at the old kind's default takes the new one's."""
        old, self.kind = self.kind, kind
        if old == kind or old not in FAMILY_DEFAULTS or kind not in FAMILY_DEFAULTS:
            return
        controls = self._controls()
        for field, value in FAMILY_DEFAULTS[kind].items():
            control = controls[field]
            try:
                unset = parse_field(field, str(control.value)) == FAMILY_DEFAULTS[old][field]
            except ConfigError:
                unset = False
            if unset:
                control.value = fmt_value(value)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.screen.focus_next()  # which commits the edit (Input.Blurred)

    @on(Input.Blurred)
    def _left(self, event: Input.Blurred) -> None:
        event.stop()
        if self.is_mounted:
            self.post_message(ConfigEdited(self.validate(), committed=True))
