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

VERDICT_BANDS = ((1e-7, "good"), (1e-4, "acceptable"), (1e-2, "suspicious"))
#: From best to worst; "inconclusive": every checked entry crossed a kink, so nothing can be judged.
VERDICTS = ("good", "acceptable", "inconclusive", "suspicious", "wrong")
#: Denominator floor, so that two gradients that are both ~0 do not make a relative error of ~1.
TINY = 1e-8
#: How many times eps |L| / h a central difference may be off by rounding alone.
ROUNDING_FACTOR = 16
#: The step of the check's central difference. Smaller than the notebook's 1e-4: in float64 the
#: truncation error (~h^2) then falls far below 1e-7 while rounding (~1e-16 / h) stays small.
CHECK_H = 1e-5


class GradCheckCancelled(Exception):
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
    kinks: int  # entries whose +-h perturbation flipped a ReLU unit on or off
    max_rel_error_smooth: float  # over the entries that crossed no kink; the verdict's basis
    delta_rel_error: float  # the share of the delta inside log() alone

    @property
    def verdict(self) -> str:
        if self.kinks == self.checked:
            return "inconclusive"
        return verdict(self.max_rel_error_smooth)


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

    rng = np.random.default_rng(seed)
    chosen = {}
    for name, param in net64.params.items():
        if sample is None or sample >= param.size:
            chosen[name] = np.arange(param.size)
        else:
            chosen[name] = np.sort(rng.choice(param.size, sample, replace=False))
    total = sum(len(idx) for idx in chosen.values())
    kink_layers = [layer for layer in net64.layers if isinstance(layer, (ReLU, LeakyReLU))]

    def loss_and_masks() -> tuple[float, list[np.ndarray]]:
        loss = net64.loss(x, t)
        return loss, [layer.mask.copy() for layer in kink_layers]

    rows = []
    done = 0
    for name, param in net64.params.items():
        flat = param.reshape(-1)
        idx = chosen[name]
        numeric = np.empty(len(idx))
        crossed = np.zeros(len(idx), dtype=bool)
        for j, i in enumerate(idx):
            if should_stop is not None and should_stop():
                raise GradCheckCancelled("gradient check cancelled")
            saved = flat[i]
            flat[i] = saved + h
            loss_plus, masks_plus = loss_and_masks()
            flat[i] = saved - h
            loss_minus, masks_minus = loss_and_masks()
            flat[i] = saved
            numeric[j] = (loss_plus - loss_minus) / (2 * h)
            crossed[j] = any(not np.array_equal(a, b) for a, b in zip(masks_plus, masks_minus))
            done += 1
            if progress is not None and (done % 64 == 0 or done == total):
                progress(done, total)
        backprop = analytic[name].reshape(-1)[idx]
        diff = np.abs(backprop - numeric)
        rel = np.maximum(diff - noise, 0) / np.maximum(np.maximum(np.abs(backprop), np.abs(numeric)), TINY)
        smooth = rel[~crossed]
        exact = with_delta[name].reshape(-1)[idx]
        delta_rel = np.abs(backprop - exact) / np.maximum(np.maximum(np.abs(backprop), np.abs(exact)), TINY)
        rows.append(
            ParamCheck(
                name=name,
                shape=param.shape,
                checked=len(idx),
                max_abs_diff=float(diff.max()),
                mean_abs_diff=float(diff.mean()),
                max_rel_error=float(rel.max()),
                kinks=int(crossed.sum()),
                max_rel_error_smooth=float(smooth.max()) if smooth.size else 0.0,
                delta_rel_error=float(delta_rel.max()),
            )
        )
    notes = explain(net64, rows, h)
    return GradCheckResult(rows=tuple(rows), notes=notes, h=h, batch_size=x.shape[0])


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
