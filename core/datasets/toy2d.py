"""Two-class problems in the plane, generated as TensorFlow Playground generates them.

Points lie roughly in [-5, 5]^2; labels are 1 ("positive", Playground's +1) or 0 ("negative",
Playground's -1). `noise` is Playground's 0-50% slider as a fraction in [0, 0.5]. As in
Playground, noise means different things per problem:

- circle: positives at radius r ~ U(0, 2.5), negatives at r ~ U(3.5, 5), angle ~ U(0, 2 pi).
  The label is whether the point moved by U(-5, 5) * noise per coordinate lies within radius
  2.5; the point itself is stored unmoved. So noise flips labels near the boundary.
- xor: x, y ~ U(-5, 5), each pushed 0.3 away from its axis; label 1 where x' * y' >= 0 for the
  point moved by U(-5, 5) * noise (again stored unmoved).
- gauss: positives ~ N((2, 2), v I), negatives ~ N((-2, -2), v I) with the variance v growing
  linearly from 0.5 at noise 0 to 4 at noise 0.5.
- spiral: for i < m = n/2 per arm, r = 5 i / m, angle = 1.75 * 2 pi * i / m + delta (delta 0 for
  positives, pi for negatives), point (r sin angle, r cos angle) + U(-1, 1) * noise.
- moons (not in Playground): two interleaving half circles, (cos s, sin s) as negatives and
  (1 - cos s, 0.5 - sin s) as positives for s ~ U(0, pi), centred and scaled by 3 into about
  [-4.5, 4.5] x [-2.25, 2.25], plus Gaussian jitter of standard deviation 2 * noise.

Every generator returns x float32 (n, 2) and t int64 (n,), rows in random order.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .errors import SettingError, check_range, check_whole

MAX_NOISE = 0.5
MIN_SAMPLES, MAX_SAMPLES = 4, 100_000
CLASS_NAMES = ("negative", "positive")

Problem = Callable[[int, float, np.random.Generator], tuple[np.ndarray, np.ndarray]]


def _polar(r: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Playground's convention: x = r sin(angle), y = r cos(angle)."""
    return np.column_stack([r * np.sin(angle), r * np.cos(angle)])


def circle(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    radius = 5.0
    n_pos = n // 2
    r = np.concatenate([rng.uniform(0, radius * 0.5, n_pos),
                        rng.uniform(radius * 0.7, radius, n - n_pos)])
    points = _polar(r, rng.uniform(0, 2 * np.pi, n))
    moved = points + rng.uniform(-radius, radius, (n, 2)) * noise
    labels = np.hypot(moved[:, 0], moved[:, 1]) < radius * 0.5
    return points, labels


def xor(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    padding = 0.3
    points = rng.uniform(-5, 5, (n, 2))
    points += np.where(points > 0, padding, -padding)
    moved = points + rng.uniform(-5, 5, (n, 2)) * noise
    return points, moved[:, 0] * moved[:, 1] >= 0


def gauss(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    variance = 0.5 + (4.0 - 0.5) * noise / MAX_NOISE
    n_pos = n // 2
    centres = np.where(np.arange(n)[:, None] < n_pos, 2.0, -2.0)
    points = centres + np.sqrt(variance) * rng.standard_normal((n, 2))
    return points, np.arange(n) < n_pos


def spiral(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    arms = []
    for size, delta in ((n // 2, 0.0), (n - n // 2, np.pi)):
        i = np.arange(size)
        r = 5.0 * i / size
        angle = 1.75 * 2 * np.pi * i / size + delta
        arms.append(_polar(r, angle) + rng.uniform(-1, 1, (size, 2)) * noise)
    return np.concatenate(arms), np.arange(n) < n // 2


def moons(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n_pos = n // 2
    s = rng.uniform(0, np.pi, n)
    positive = np.arange(n) < n_pos
    x = np.where(positive, 1 - np.cos(s), np.cos(s))
    y = np.where(positive, 0.5 - np.sin(s), np.sin(s))
    points = 3.0 * np.column_stack([x - 0.5, y - 0.25])
    return points + rng.normal(0, 2 * noise, (n, 2)), positive


GENERATORS: dict[str, Problem] = {
    "circle": circle, "xor": xor, "gauss": gauss, "spiral": spiral, "moons": moons,
}


def make_toy2d(name: str, n_samples: int = 500, noise: float = 0.0,
               seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n_samples points of problem `name` (float32 (n, 2)) and their labels (int64 0/1), shuffled."""
    if name not in GENERATORS:
        raise SettingError(f"unknown 2-D problem {name!r}: choose one of {', '.join(GENERATORS)}")
    check_whole("n_samples", n_samples)
    check_range("n_samples", n_samples, MIN_SAMPLES, MAX_SAMPLES)
    check_range("noise", noise, 0.0, MAX_NOISE)
    check_whole("seed", seed)
    check_range("seed", seed, 0, 2**63 - 1)
    rng = np.random.default_rng(seed)
    points, labels = GENERATORS[name](int(n_samples), float(noise), rng)
    order = rng.permutation(len(points))
    return points[order].astype(np.float32), labels[order].astype(np.int64)
