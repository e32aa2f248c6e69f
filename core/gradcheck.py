"""Gradient checking: backprop's gradient against the numerical one, parameter by parameter.

For every checked entry i of a parameter, with a = backprop and n = central difference:
    relative error = max(|a_i - n_i| - noise, 0) / max(|a_i|, |n_i|, tiny)
where noise = 16 eps |L| / h bounds what rounding alone leaves in a central difference of the loss L
(eps = 2.2e-16 in float64); without it, tiny gradients would look wrong for no fault of backprop.
Verdicts follow CS231n's bands for the largest relative error: <= 1e-7 good, <= 1e-4 acceptable
(typical where kinks are crossed), <= 1e-2 suspicious, above that wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from core.layers import LeakyReLU, ReLU, labels_of
from core.network import MLP
from core.numerical import Cancelled, fast_numerical_gradient

VERDICT_BANDS = ((1e-7, "good"), (1e-4, "acceptable"), (1e-2, "suspicious"))
#: From best to worst; "inconclusive": every checked entry crossed a kink, so nothing can be judged.
VERDICTS = ("good", "acceptable", "inconclusive", "suspicious", "wrong")
#: Denominator floor, so that two gradients that are both ~0 do not make a relative error of ~1.
TINY = 1e-8
#: How many times eps |L| / h a central difference may be off by rounding alone.
ROUNDING_FACTOR = 16
#: At most this many entries of a parameter are probed one by one for kinks.
MAX_KINK_PROBES = 200
#: The step of the check's central difference. Smaller than the notebook's 1e-4: in float64 the
#: truncation error (~h^2) then falls far below 1e-7 while rounding (~1e-16 / h) stays small.
CHECK_H = 1e-5


class GradCheckCancelled(Cancelled):
    """Raised when `should_stop` asked the check to stop."""


def verdict(relative_error: float) -> str:
    for bound, name in VERDICT_BANDS:
        if relative_error <= bound:
            return name
    return "wrong"


@dataclass(frozen=True)
class ParamCheck:
    """The comparison for one parameter (only its `checked` sampled entries when sampling)."""

    name: str
    shape: tuple[int, ...]
    checked: int
    max_abs_diff: float
    mean_abs_diff: float
    max_rel_error: float  # over all checked entries
    kinks: int  # entries, among those off by more than rounding and delta, whose +-h nudge flipped a ReLU unit
    unexplained_error: float  # the largest relative error beyond the delta's share, kinks set aside: the verdict's basis
    delta_rel_error: float  # the share of the delta inside log() alone

    @property
    def verdict(self) -> str:
        if self.kinks == self.checked:
            return "inconclusive"
        return verdict(self.unexplained_error)


@dataclass(frozen=True)
class GradCheckResult:
    rows: tuple[ParamCheck, ...]
    notes: tuple[str, ...]
    h: float
    batch_size: int

    @property
    def verdict(self) -> str:
        """The worst verdict of all rows."""
        return max((row.verdict for row in self.rows), key=VERDICTS.index)


def gradient_check(
    net: MLP,
    x: np.ndarray,
    t: np.ndarray,
    *,
    sample: int | None = None,
    h: float = CHECK_H,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> GradCheckResult:
    """Check `net`'s backprop gradient on the batch (x, t) against central differences.

    The check runs on a float64 copy of the network (float32 rounding would drown the comparison).
    `sample=k` checks k random entries of each parameter instead of all of them.
    `progress(done, total)` is called as entries are checked; `should_stop()` returning True cancels.

    The numerical gradient is core.numerical's fast one (the same central differences as the
    notebook's). Entries whose error exceeds what rounding and the delta explain are then nudged
    once more, one by one, to see whether the nudge switched a ReLU unit on or off (a kink).
    """
    if sample is not None and sample < 1:
        raise ValueError(f"sample must be a whole number >= 1 (entries per parameter), got {sample}")
    if not (np.isfinite(h) and h > 0):
        raise ValueError(f"h must be a positive number, got {h}")
    net64 = net.astype("float64")
    x = net64.check_input(np.asarray(x, dtype=np.float64))
    t = np.asarray(t)
    labels_of(t, (x.shape[0], net64.sizes[-1]))  # validates t against x before the long loop
    analytic = {name: g.copy() for name, g in net64.gradient(x, t).items()}
    noise = ROUNDING_FACTOR * np.finfo(np.float64).eps * max(abs(net64.loss(x, t)), 1.0) / h
    with_delta = {name: g.copy() for name, g in net64.gradient(x, t, include_delta=True).items()}

    try:
        numeric = fast_numerical_gradient(net64, x, t, h, should_stop=should_stop, progress=progress)
    except Cancelled as stop:
        raise GradCheckCancelled("gradient check cancelled") from stop

    rng = np.random.default_rng(seed)
    rows = []
    for name, param in net64.params.items():
        if sample is None or sample >= param.size:
            idx = np.arange(param.size)
        else:
            idx = np.sort(rng.choice(param.size, sample, replace=False))
        backprop = analytic[name].reshape(-1)[idx]
        numerical = numeric[name].reshape(-1)[idx]
        diff = np.abs(backprop - numerical)
        rel = np.maximum(diff - noise, 0) / np.maximum(np.maximum(np.abs(backprop), np.abs(numerical)), TINY)
        exact = with_delta[name].reshape(-1)[idx]
        delta_rel = np.abs(backprop - exact) / np.maximum(np.maximum(np.abs(backprop), np.abs(exact)), TINY)
        suspects = np.flatnonzero(rel > rel_allowed(delta_rel))[:MAX_KINK_PROBES]
        crossed = np.zeros(len(idx), dtype=bool)
        crossed[suspects] = [crosses_a_kink(net64, x, t, param.reshape(-1), i, h) for i in idx[suspects]]
        unexplained = np.maximum(rel - delta_rel, 0)[~crossed]
        rows.append(
            ParamCheck(
                name=name,
                shape=param.shape,
                checked=len(idx),
                max_abs_diff=float(diff.max()),
                mean_abs_diff=float(diff.mean()),
                max_rel_error=float(rel.max()),
                kinks=int(crossed.sum()),
                unexplained_error=float(unexplained.max()) if unexplained.size else 0.0,
                delta_rel_error=float(delta_rel.max()),
            )
        )
    notes = explain(net64, rows, h)
    return GradCheckResult(rows=tuple(rows), notes=notes, h=h, batch_size=x.shape[0])


def rel_allowed(delta_rel: np.ndarray) -> np.ndarray:
    """The relative error a correct backprop may show: the "good" band beyond the delta's share."""
    return delta_rel + VERDICT_BANDS[0][0]


def crosses_a_kink(net: MLP, x: np.ndarray, t: np.ndarray, flat_param: np.ndarray, i: int, h: float) -> bool:
    """Whether nudging entry i of a parameter by +h and by -h leaves some ReLU unit on one side and off on the other."""
    kink_layers = [layer for layer in net.layers.values() if isinstance(layer, (ReLU, LeakyReLU))]
    if not kink_layers:
        return False
    saved = flat_param[i]
    masks = []
    for nudged in (saved + h, saved - h):
        flat_param[i] = nudged
        net.loss(x, t)
        masks.append([layer.mask.copy() for layer in kink_layers])
    flat_param[i] = saved
    return any(not np.array_equal(a, b) for a, b in zip(*masks))


def explain(net: MLP, rows: list[ParamCheck], h: float) -> tuple[str, ...]:
    """Plain-language notes on what the numbers mean, for what the check can tell."""
    notes = []
    kinked = [row for row in rows if row.kinks]
    if kinked:
        parts = ", ".join(f"{row.name}: {row.kinks} of {row.checked}" for row in kinked)
        worst = max(row.max_rel_error for row in kinked)
        notes.append(
            f"ReLU kinks: some perturbations of +-{h:g} switched a unit on or off ({parts}). Across a kink "
            f"the numerical gradient averages two slopes, so those entries may differ from backprop "
            f"(here up to {worst:.1e}); they are left out of the verdict."
        )
    floor = max(row.delta_rel_error for row in rows)
    if floor > 1e-9:
        shares = ", ".join(f"{row.name} {row.delta_rel_error:.0e}" for row in rows)
        notes.append(
            f"Delta floor: the cross-entropy takes log(y + {net.log_delta:g}), but backprop uses the "
            f"textbook gradient (y - t)/N, which leaves the delta out. That alone accounts for relative "
            f"errors of about {shares}, even when backprop is right."
        )
    if net.output == "sigmoid" and net.loss_name == "cross_entropy":
        notes.append(
            "Sigmoid output with cross-entropy (the notebook's network): only the true class's output "
            "gets a gradient, so the others are never pushed down; softmax fixes that."
        )
    if not notes:
        notes.append("Nothing to explain: the differences are what rounding alone leaves.")
    return tuple(notes)
