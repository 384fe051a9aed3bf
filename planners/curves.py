"""Shortest turn curves for car-like machines: Dubins (forwards only) and Reeds-Shepp (reverse allowed).

The coverage planner asks for thousands of candidate turns per plan, so the work happens in the compiled
kernel ``agrifleet.ext._turns`` (selected with :func:`agrifleet.ext.kernel`); this module owns the argument
checks, the errors and the documentation, as pyproj's ``geod.py`` does over ``_geod.pyx``.

Conventions: a pose is ``(x, y, heading)`` in metres and radians in the field's local frame, heading
counter-clockwise from +x (OMPL's yaw). A curve is a *word* of segments (``L`` left arc, ``S`` straight,
``R`` right arc) with signed segment lengths in metres (``params``; negative = driven in reverse) for a
minimum turning radius ``radius_m``. Lengths agree with OMPL's ``DubinsStateSpace`` (non-symmetric) and
``ReedsSheppStateSpace``, whose candidate words and tolerances the kernel follows.

- :func:`shortest` - one curve between two poses, as a :class:`Curve` (fast single-call path).
- :func:`shortest_lengths` - batches of pose pairs, as arrays.
- :meth:`Curve.sample` and :func:`sample_curves` - path points ``(x, y, heading, direction)``.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from agrifleet.core.errors import ConfigError
from agrifleet.ext import kernel

__all__ = ["KINDS", "MAX_SAMPLES", "Curve", "CurveKind", "Pose", "sample_curves", "shortest",
           "shortest_lengths", "word_name"]

CurveKind = Literal["dubins", "reeds-shepp"]
Pose = tuple[float, float, float]
KINDS: tuple[str, ...] = ("dubins", "reeds-shepp")
MAX_SAMPLES = 20_000_000   # refuse sampling requests that would allocate more points than this

_K = kernel("turns")
_WORDS = {"dubins": _K.DUBINS_WORDS, "reeds-shepp": _K.REEDS_SHEPP_WORDS}
_N_PARAMS = {"dubins": 3, "reeds-shepp": 5}
_CURVE = {"dubins": _K.dubins_curve, "reeds-shepp": _K.reeds_shepp_curve}
_BATCH = {"dubins": _K.dubins_shortest, "reeds-shepp": _K.reeds_shepp_shortest}
_SAMPLE = {"dubins": _K.sample_dubins, "reeds-shepp": _K.sample_reeds_shepp}
_SAMPLE_MANY = {"dubins": _K.sample_dubins_many, "reeds-shepp": _K.sample_reeds_shepp_many}
_END = {"dubins": _K.dubins_end, "reeds-shepp": _K.reeds_shepp_end}
_WORD_DTYPE = {"dubins": np.int8, "reeds-shepp": np.int16}


def word_name(kind: CurveKind, word: int, params: Sequence[float] | None = None) -> str:
    """The letters of a word; for Reeds-Shepp with the sign of each segment, e.g. ``"L+S-R-"``."""
    words = _words(kind)
    if not 0 <= word < len(words):
        raise ConfigError(f"{kind} word must be in 0..{len(words) - 1}, got {word}")
    letters = words[word]
    if kind == "dubins" or params is None:
        return letters
    return "".join(c + ("-" if math.copysign(1.0, p) < 0 else "+") for c, p in zip(letters, params))


@dataclass(frozen=True, slots=True)
class Curve:
    """One shortest curve: where it starts, its word, its signed segment lengths and what it costs.

    ``params`` holds one signed length in metres per segment of the word (Reeds-Shepp: five slots, the
    ones past the word's letters are 0). Curves returned by :func:`shortest` come straight from the kernel;
    a Curve built by hand is checked here.
    """

    kind: CurveKind
    start: Pose
    word: int
    params: tuple[float, ...]
    radius_m: float
    length_m: float

    def __post_init__(self) -> None:
        words = _words(self.kind)
        object.__setattr__(self, "radius_m", _check_radius(self.radius_m))
        object.__setattr__(self, "start", _pose(self.start, "start"))
        params = tuple(float(p) for p in self.params)
        object.__setattr__(self, "params", params)
        if not (isinstance(self.word, (int, np.integer)) and 0 <= self.word < len(words)):
            raise ConfigError(f"{self.kind} word must be an integer in 0..{len(words) - 1}, "
                              f"got {self.word!r}")
        object.__setattr__(self, "word", int(self.word))
        if len(params) != _N_PARAMS[self.kind] or not all(math.isfinite(p) for p in params):
            raise ConfigError(f"{self.kind} params must be {_N_PARAMS[self.kind]} finite lengths, "
                              f"got {params}")
        if self.kind == "dubins" and min(params) < 0.0:
            raise ConfigError(f"Dubins segments are driven forwards; negative length in {params}")
        if any(params[len(words[self.word]):]):
            raise ConfigError(f"{words[self.word]} has {len(words[self.word])} segments; the other params "
                              f"must be 0, got {params}")
        total = sum(abs(p) for p in params)
        if not (math.isfinite(self.length_m) and abs(self.length_m - total) <= 1e-9 * max(1.0, total)):
            raise ConfigError(f"length_m {self.length_m} does not match the segments' total {total}")

    @property
    def end(self) -> Pose:
        """The pose where the curve ends (heading in (-pi, pi])."""
        return _END[self.kind](self.start, self.word, self.params, self.radius_m)

    @property
    def has_reverse(self) -> bool:
        """True when some segment (longer than the kernel's SEGMENT_TINY radii) is driven in reverse."""
        tiny = _K.SEGMENT_TINY * self.radius_m
        return any(p < -tiny for p in self.params)

    @property
    def word_name(self) -> str:
        """``"LSL"`` for Dubins; letters with directions for Reeds-Shepp, e.g. ``"L+S+R-"``."""
        return word_name(self.kind, self.word, self.params)

    def sample(self, step_m: float) -> np.ndarray:
        """Points ``(x, y, heading, direction)`` at most ``step_m`` apart, both end poses included.

        Every piece between consecutive points lies on one segment (curvature 0 or 1/radius_m); at a cusp
        the point appears twice, first with the direction it was reached in, then with the new one.
        """
        _check_step(step_m, self.length_m, 1)
        return _SAMPLE[self.kind](self.start, self.word, self.params, self.radius_m, float(step_m))


def _words(kind: str) -> tuple[str, ...]:
    words = _WORDS.get(kind)
    if words is None:
        raise ConfigError(f"unknown curve kind {kind!r}; expected one of {', '.join(KINDS)}")
    return words


def _check_radius(radius_m: float) -> float:
    if not isinstance(radius_m, numbers.Real):
        raise ConfigError(f"radius_m must be a number, got {radius_m!r}")
    r = float(radius_m)
    if not (math.isfinite(r) and r > 0.0):
        raise ConfigError(f"radius_m must be finite and > 0, got {radius_m!r}")
    return r


def _check_step(step_m: float, total_length_m: float, n_curves: int) -> None:
    if not (isinstance(step_m, numbers.Real) and math.isfinite(step_m)
            and step_m > 0.0):
        raise ConfigError(f"step_m must be finite and > 0, got {step_m!r}")
    if total_length_m / step_m + 8 * n_curves > MAX_SAMPLES:
        raise ConfigError(f"step_m {step_m} would give more than {MAX_SAMPLES} points for "
                          f"{total_length_m:.1f} m of curves; use a larger step")


def _pose(value: Sequence[float], name: str) -> Pose:
    try:
        x, y, h = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be an (x, y, heading) pose, got {value!r}") from None
    if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(h)):
        raise ConfigError(f"{name} must be finite, got {(x, y, h)}")
    return (x, y, h)


# The kernel builds the Curve of a single call itself (see ``shortest``); it must know the fields.
if tuple(Curve.__dataclass_fields__) != _K.CURVE_FIELDS:
    raise ImportError(f"Curve fields {tuple(Curve.__dataclass_fields__)} differ from the kernel's "
                      f"{_K.CURVE_FIELDS}")


def shortest(start: Sequence[float], goal: Sequence[float], radius_m: float,
             kind: CurveKind = "dubins") -> Curve:
    """The shortest ``kind`` curve from ``start`` to ``goal`` for a minimum turning radius ``radius_m``.

    Poses are plain sequences ``(x, y, heading)``; tuples of floats are the fastest. This is the single-call
    path, benchmarked against OMPL's ``distance`` from Python: no numpy, and the kernel builds the Curve
    itself (its values are valid by construction, so ``__post_init__`` is skipped); building it in Python
    would cost as much as the search. Argument errors are detected by the kernel and explained here.
    """
    make = _CURVE.get(kind)
    if make is None:
        _words(kind)
    try:
        curve = make(Curve, start, goal, radius_m)
    except (TypeError, ValueError) as exc:
        _pose(start, "start")
        _pose(goal, "goal")
        _check_radius(radius_m)
        raise ConfigError(f"cannot compute a {kind} curve from {start!r} to {goal!r}: {exc}") from exc
    if curve is None:   # the kernel flags a non-finite pose or a bad radius; say which
        _check_radius(radius_m)
        _pose(start, "start")
        _pose(goal, "goal")
        raise ConfigError(f"no {kind} curve from {start} to {goal}")
    return curve


def _pose_array(value: np.ndarray | Sequence[Sequence[float]], name: str) -> np.ndarray:
    try:
        a = np.ascontiguousarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be an (N, 3) array of poses") from None
    if a.ndim == 1 and a.shape == (3,):
        a = a.reshape(1, 3)
    if a.ndim != 2 or a.shape[1] != 3:
        raise ConfigError(f"{name} must be an (N, 3) array of (x, y, heading) poses, got shape {a.shape}")
    if not np.isfinite(a.sum()):       # one fast pass; a sum that overflowed is looked at row by row
        bad = ~np.isfinite(a).all(axis=1)
        if bad.any():
            i = int(np.argmax(bad))
            raise ConfigError(f"{name}[{i}] is not finite: {a[i].tolist()}")
    return a


def shortest_lengths(starts: np.ndarray, goals: np.ndarray, radius_m: float, kind: CurveKind = "dubins"
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shortest curves for many pose pairs: ``(lengths_m[N], words[N], params[N, k])``.

    ``starts`` and ``goals`` are (N, 3) arrays; either may be a single pose, used for every pair. Words are
    int8 for Dubins (k = 3) and int16 for Reeds-Shepp (k = 5).
    """
    _words(kind)
    r = _check_radius(radius_m)
    a = _pose_array(starts, "starts")
    b = _pose_array(goals, "goals")
    if a.shape[0] != b.shape[0]:
        if a.shape[0] == 1:
            a = np.ascontiguousarray(np.broadcast_to(a, b.shape))
        elif b.shape[0] == 1:
            b = np.ascontiguousarray(np.broadcast_to(b, a.shape))
        else:
            raise ConfigError(f"starts and goals differ in length: {a.shape[0]} and {b.shape[0]}")
    return _BATCH[kind](a, b, r)


def sample_curves(starts: np.ndarray, words: np.ndarray, params: np.ndarray, radius_m: float, step_m: float,
                  kind: CurveKind = "dubins") -> tuple[np.ndarray, np.ndarray]:
    """Sample many curves into one array: ``(points[M, 4], offsets[N + 1])``.

    Curve ``i`` is ``points[offsets[i]:offsets[i + 1]]`` with the same rules as :meth:`Curve.sample`;
    the inputs are what :func:`shortest_lengths` returned plus the start poses.
    """
    names = _words(kind)
    r = _check_radius(radius_m)
    a = _pose_array(starts, "starts")
    n = a.shape[0]
    w = np.ascontiguousarray(words, dtype=_WORD_DTYPE[kind])
    p = np.ascontiguousarray(params, dtype=np.float64)
    if w.shape != (n,) or p.shape != (n, _N_PARAMS[kind]):
        raise ConfigError(f"need words ({n},) and params ({n}, {_N_PARAMS[kind]}), "
                          f"got {w.shape} and {p.shape}")
    if n and (w.min() < 0 or w.max() >= len(names)):
        raise ConfigError(f"{kind} words must be in 0..{len(names) - 1}")
    if not np.isfinite(p).all():
        raise ConfigError("params must be finite")
    _check_step(step_m, float(np.abs(p).sum()), n)
    return _SAMPLE_MANY[kind](a, w, p, r, float(step_m))
