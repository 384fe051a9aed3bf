"""Reference implementation of the turn-curve kernel ``_turns.pyx``: same functions, plain numpy and Python.

It exists to check the compiled kernel (hypothesis tests compare the two) and to run where no compiler is
available (``AGRIFLEET_PUREPYTHON=1``). It is written for clarity, not speed: the shortest-path searches are
vectorised over the pairs with every candidate word evaluated in full (no pruning), and sampling is a Python
loop over segments.

The candidate words, formulas and tolerances follow OMPL's ``DubinsStateSpace`` (with ``isSymmetric``
false), which the kernel also follows, so that both agree with OMPL's lengths.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "CURVE_FIELDS",
    "DUBINS_WORDS",
    "REEDS_SHEPP_WORDS",
    "SEGMENT_TINY",
    "dubins_curve",
    "dubins_end",
    "dubins_one",
    "dubins_shortest",
    "reeds_shepp_curve",
    "reeds_shepp_end",
    "reeds_shepp_one",
    "reeds_shepp_shortest",
    "sample_dubins",
    "sample_dubins_many",
    "sample_reeds_shepp",
    "sample_reeds_shepp_many",
]

DUBINS_WORDS = ("LSL", "LSR", "RSL", "RSR", "RLR", "LRL")
REEDS_SHEPP_WORDS = ("LRL", "RLR", "LRLR", "RLRL", "LRSL", "RLSR", "LSRL", "RSLR", "LRSR", "RLSL", "RSRL",
                     "LSLR", "LSR", "RSL", "LSL", "RSR", "LRSLR", "RLSRL")
SEGMENT_TINY = 1e-10
CURVE_FIELDS = ("kind", "start", "word", "params", "radius_m", "length_m")

TWO_PI = 2.0 * math.pi
HALF_PI = 0.5 * math.pi
DUBINS_EPS = 1e-6
DUBINS_ZERO = -1e-7
RS_ZERO = 1e-10      # OMPL: 10 eps; see the kernel for why this is larger
_SEG_SIGN = {"L": 1.0, "R": -1.0, "S": 0.0}   # heading change per radius driven forwards


def _dmod(x: np.ndarray) -> np.ndarray:
    """Angles in [0, 2 pi) with OMPL's snapping of rounding noise around 0 and 2 pi to 0."""
    xm = x - TWO_PI * np.floor(x / TWO_PI)
    xm = np.where(TWO_PI - xm < 0.5 * DUBINS_EPS, 0.0, xm)
    return np.where((x < 0.0) & (x > DUBINS_ZERO), 0.0, xm)


def _real(value: object) -> float:
    """``float(value)`` with the kernel's typing: text is not a number."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"must be real number, not {type(value).__name__}")
    return float(value)  # type: ignore[arg-type]


def _pairs(q0: np.ndarray, q1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(q0, dtype=np.float64)
    b = np.asarray(q1, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != 3 or b.shape[1] != 3 or a.shape[0] != b.shape[0]:
        raise ValueError(f"poses must be two (N, 3) arrays of equal N, got {a.shape} and {b.shape}")
    return a, b


def _dubins_unit(d: np.ndarray, alpha: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, ...]:
    """Lengths (radii), word indices and (t, p, q) of the shortest word, every candidate evaluated."""
    ca, sa, cb, sb = np.cos(alpha), np.sin(alpha), np.cos(beta), np.sin(beta)
    cab = ca * cb + sa * sb
    inf = np.full_like(d, np.inf)
    cands: list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []   # word, ok, t, p, q

    def csc(word: int, tmp: np.ndarray, theta_fn, t_fn, q_fn) -> None:
        p = np.sqrt(np.maximum(tmp, 0.0))
        theta = theta_fn(p)
        cands.append((word, tmp >= DUBINS_ZERO, t_fn(theta), p, q_fn(theta)))

    # The candidates in OMPL's order: ties go to the first one, as with OMPL's strict comparison.
    csc(0, 2.0 + d * d - 2.0 * (cab - d * (sa - sb)), lambda p: np.arctan2(cb - ca, d + sa - sb),
        lambda th: _dmod(th - alpha), lambda th: _dmod(beta - th))                                  # LSL
    csc(3, 2.0 + d * d - 2.0 * (cab - d * (sb - sa)), lambda p: np.arctan2(ca - cb, d - sa + sb),
        lambda th: _dmod(alpha - th), lambda th: _dmod(th - beta))                                  # RSR
    csc(2, d * d - 2.0 + 2.0 * (cab - d * (sa + sb)),
        lambda p: np.arctan2(ca + cb, d - sa - sb) - np.arctan2(2.0, p),
        lambda th: _dmod(alpha - th), lambda th: _dmod(beta - th))                                  # RSL
    csc(1, -2.0 + d * d + 2.0 * (cab + d * (sa + sb)),
        lambda p: np.arctan2(-ca - cb, d + sa + sb) - np.arctan2(-2.0, p),
        lambda th: _dmod(th - alpha), lambda th: _dmod(th - beta))                                  # LSR
    tmp = 0.125 * (6.0 - d * d + 2.0 * (cab + d * (sa - sb)))                                       # RLR
    p = TWO_PI - np.arccos(np.clip(tmp, -1.0, 1.0))
    t = _dmod(alpha - np.arctan2(ca - cb, d - sa + sb) + 0.5 * p)
    cands.append((4, np.abs(tmp) < 1.0, t, p, _dmod(alpha - beta - t + p)))
    tmp = 0.125 * (6.0 - d * d + 2.0 * (cab - d * (sa - sb)))                                       # LRL
    p = TWO_PI - np.arccos(np.clip(tmp, -1.0, 1.0))
    t = _dmod(-alpha + np.arctan2(-ca + cb, d + sa - sb) + 0.5 * p)
    cands.append((5, np.abs(tmp) < 1.0, t, p, _dmod(beta - alpha - t + p)))

    lengths = np.stack([np.where(ok, t + p + q, inf) for _, ok, t, p, q in cands], axis=1)
    best = np.argmin(lengths, axis=1)
    rows = np.arange(len(d))
    words = np.array([c[0] for c in cands], dtype=np.int8)[best]
    params = np.stack([np.stack([c[2], c[3], c[4]], axis=1) for c in cands], axis=1)[rows, best]
    length = lengths[rows, best]
    # Coincident poses: OMPL's special case, a straight of length d.
    degenerate = (d < DUBINS_EPS) & (np.abs(alpha - beta) < DUBINS_EPS)
    words[degenerate] = 0
    params[degenerate] = np.stack([np.zeros_like(d), d, np.zeros_like(d)], axis=1)[degenerate]
    length[degenerate] = d[degenerate]
    return length, words, params


def _search(q0: np.ndarray, q1: np.ndarray, radius_m: float, unit_search, word_dtype, n_params: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``unit_search(a, b, r)`` (lengths and params in radii, words) run on the pairs that are valid; a
    pair with a non-finite pose (or a bad radius) gets length NaN, word -1 and NaN params."""
    a, b = _pairs(q0, q1)
    r = float(radius_m)
    ok = np.isfinite(a).all(axis=1) & np.isfinite(b).all(axis=1) & math.isfinite(r) & (r > 0.0)
    n = a.shape[0]
    lengths = np.full(n, np.nan)
    words = np.full(n, -1, dtype=word_dtype)
    params = np.full((n, n_params), np.nan)
    if ok.any():
        with np.errstate(invalid="ignore"):
            length, word, par = unit_search(a[ok], b[ok], r)
        lengths[ok], words[ok], params[ok] = r * length, word, r * par
    return lengths, words, params


def _one(start: Sequence[float], goal: Sequence[float], radius_m: float, shortest):
    """One pair from plain sequences: ``((x0, y0, h0), length_m, word, params)``; word -1 if bad input."""
    x0, y0, h0 = (_real(v) for v in start)
    x1, y1, h1 = (_real(v) for v in goal)
    length, word, params = shortest(np.array([[x0, y0, h0]]), np.array([[x1, y1, h1]]), _real(radius_m))
    return (x0, y0, h0), float(length[0]), int(word[0]), tuple(float(v) for v in params[0])


def _dubins_pairs(a: np.ndarray, b: np.ndarray, r: float) -> tuple[np.ndarray, ...]:
    dx, dy = b[:, 0] - a[:, 0], b[:, 1] - a[:, 1]
    th = np.arctan2(dy, dx)
    return _dubins_unit(np.sqrt(dx * dx + dy * dy) / r, _dmod(a[:, 2] - th), _dmod(b[:, 2] - th))


def dubins_shortest(q0: np.ndarray, q1: np.ndarray, radius_m: float) -> tuple[np.ndarray, np.ndarray,
                                                                               np.ndarray]:
    """Shortest Dubins paths for N pose pairs: (length_m[N], word int8[N], params_m[N, 3]).

    A pair with a non-finite pose (or a bad radius) gets length NaN, word -1 and NaN params.
    """
    return _search(q0, q1, radius_m, _dubins_pairs, np.int8, 3)


def dubins_one(start: Sequence[float], goal: Sequence[float], radius_m: float
               ) -> tuple[tuple[float, float, float], float, int, tuple[float, float, float]]:
    """One pair from plain sequences: ``((x0, y0, h0), length_m, word, (t, p, q))``; word -1 if bad input."""
    return _one(start, goal, radius_m, dubins_shortest)


# ------------------------------------------------------------------------------------- Reeds-Shepp search
# Reeds & Shepp (1990), section 8: each formula maps the goal (x, y, phi) seen from the start, radius 1, to
# the lengths (t, u, v) of one family, or fails (ok False). The other families follow from the symmetries
# timeflip (-x, y, -phi: lengths negated), reflect (x, -y, -phi: L and R swapped, the next word of the table)
# and backwards (the goal seen from the end: segments in reverse order), as in OMPL.
def _rmod(x: np.ndarray) -> np.ndarray:
    """Angles in [-pi, pi] (OMPL's mod2pi of the Reeds-Shepp space)."""
    v = np.fmod(x, TWO_PI)
    return np.where(v < -math.pi, v + TWO_PI, np.where(v > math.pi, v - TWO_PI, v))


def _tau_omega(u, v, xi, eta, phi):
    delta = _rmod(u - v)
    a, b = np.sin(u) - np.sin(delta), np.cos(u) - np.cos(delta) - 1.0
    t1 = np.arctan2(eta * a - xi * b, xi * a + eta * b)
    t2 = 2.0 * (np.cos(delta) - np.cos(v) - np.cos(u)) + 3.0
    tau = np.where(t2 < 0.0, _rmod(t1 + math.pi), _rmod(t1))
    return tau, _rmod(tau - u + v - phi)


def _f81(x, y, phi):   # L+ S+ L+
    xi, eta = x - np.sin(phi), y - 1.0 + np.cos(phi)
    u, t = np.hypot(xi, eta), np.arctan2(eta, xi)
    v = _rmod(phi - t)
    return (t >= -RS_ZERO) & (v >= -RS_ZERO), t, u, v


def _f82(x, y, phi):   # L+ S+ R+
    xi, eta = x + np.sin(phi), y - 1.0 - np.cos(phi)
    u1 = np.hypot(xi, eta) ** 2
    u = np.sqrt(np.maximum(u1 - 4.0, 0.0))
    t = _rmod(np.arctan2(eta, xi) + np.arctan2(2.0, u))
    v = _rmod(t - phi)
    return (u1 >= 4.0) & (t >= -RS_ZERO) & (v >= -RS_ZERO), t, u, v


def _f83(x, y, phi):   # L+ R- L
    xi, eta = x - np.sin(phi), y - 1.0 + np.cos(phi)
    u1 = np.hypot(xi, eta)
    u = -2.0 * np.arcsin(np.minimum(0.25 * u1, 1.0))
    t = _rmod(np.arctan2(eta, xi) + 0.5 * u + math.pi)
    v = _rmod(phi - t + u)
    return (u1 <= 4.0) & (t >= -RS_ZERO) & (u <= RS_ZERO), t, u, v


def _f87(x, y, phi):   # L+ R+ L- R-
    xi, eta = x + np.sin(phi), y - 1.0 - np.cos(phi)
    rho = 0.25 * (2.0 + np.hypot(xi, eta))
    u = np.arccos(np.minimum(rho, 1.0))
    t, v = _tau_omega(u, -u, xi, eta, phi)
    return (rho <= 1.0) & (t >= -RS_ZERO) & (v <= RS_ZERO), t, u, v


def _f88(x, y, phi):   # L+ R- L- R+
    xi, eta = x + np.sin(phi), y - 1.0 - np.cos(phi)
    rho = (20.0 - xi * xi - eta * eta) / 16.0
    u = -np.arccos(np.clip(rho, 0.0, 1.0))
    t, v = _tau_omega(u, u, xi, eta, phi)
    return ((rho >= 0.0) & (rho <= 1.0) & (u >= -HALF_PI) & (t >= -RS_ZERO) & (v >= -RS_ZERO)), t, u, v


def _f89(x, y, phi):   # L+ R-(pi/2) S- L-
    xi, eta = x - np.sin(phi), y - 1.0 + np.cos(phi)
    rho = np.hypot(xi, eta)
    r = np.sqrt(np.maximum(rho * rho - 4.0, 0.0))
    u = 2.0 - r
    t = _rmod(np.arctan2(eta, xi) + np.arctan2(r, -2.0))
    v = _rmod(phi - HALF_PI - t)
    return (rho >= 2.0) & (t >= -RS_ZERO) & (u <= RS_ZERO) & (v <= RS_ZERO), t, u, v


def _f810(x, y, phi):  # L+ R-(pi/2) S- R-
    xi, eta = x + np.sin(phi), y - 1.0 - np.cos(phi)
    rho, t = np.hypot(xi, eta), np.arctan2(xi, -eta)
    u = 2.0 - rho
    v = _rmod(t + HALF_PI - phi)
    return (rho >= 2.0) & (t >= -RS_ZERO) & (u <= RS_ZERO) & (v <= RS_ZERO), t, u, v


def _f811(x, y, phi):  # L+ R-(pi/2) S- L-(pi/2) R+
    xi, eta = x + np.sin(phi), y - 1.0 - np.cos(phi)
    rho = np.hypot(xi, eta)
    u = 4.0 - np.sqrt(np.maximum(rho * rho - 4.0, 0.0))
    t = _rmod(np.arctan2((4.0 - u) * xi - 2.0 * eta, -2.0 * xi + (u - 4.0) * eta))
    v = _rmod(t - phi)
    return (rho >= 2.0) & (u <= RS_ZERO) & (t >= -RS_ZERO) & (v >= -RS_ZERO), t, u, v


def _rs_families():
    """(formula, backwards, base word, segment lengths from (t, u, v)) in OMPL's order of evaluation."""
    z = 0.0
    return [
        (_f81, False, 14, lambda t, u, v: (t, u, v, z, z)),
        (_f82, False, 12, lambda t, u, v: (t, u, v, z, z)),
        (_f83, False, 0, lambda t, u, v: (t, u, v, z, z)),
        (_f83, True, 0, lambda t, u, v: (v, u, t, z, z)),
        (_f87, False, 2, lambda t, u, v: (t, u, -u, v, z)),
        (_f88, False, 2, lambda t, u, v: (t, u, u, v, z)),
        (_f89, False, 4, lambda t, u, v: (t, -HALF_PI + 0 * t, u, v, z)),
        (_f810, False, 8, lambda t, u, v: (t, -HALF_PI + 0 * t, u, v, z)),
        (_f89, True, 6, lambda t, u, v: (v, u, -HALF_PI + 0 * t, t, z)),
        (_f810, True, 10, lambda t, u, v: (v, u, -HALF_PI + 0 * t, t, z)),
        (_f811, False, 16, lambda t, u, v: (t, -HALF_PI + 0 * t, u, -HALF_PI + 0 * t, v)),
    ]


def _reeds_shepp_unit(x: np.ndarray, y: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, ...]:
    """Lengths (radii), word indices and five signed segment lengths of the shortest word, all evaluated."""
    xb, yb = x * np.cos(phi) + y * np.sin(phi), x * np.sin(phi) - y * np.cos(phi)
    lengths, words, params = [], [], []
    for formula, backwards, word, segments in _rs_families():
        gx, gy = (xb, yb) if backwards else (x, y)
        # identity, timeflip, reflect, timeflip + reflect
        for sx, sy, sphi, flip, reflect in ((1, 1, 1, 1, 0), (-1, 1, -1, -1, 0), (1, -1, -1, 1, 1),
                                            (-1, -1, 1, -1, 1)):
            ok, t, u, v = formula(sx * gx, sy * gy, sphi * phi)
            seg = np.stack([flip * np.broadcast_to(a, x.shape) for a in segments(t, u, v)], axis=1)
            lengths.append(np.where(ok, np.abs(seg).sum(axis=1), np.inf))
            words.append(word + reflect)
            params.append(seg)
    table = np.stack(lengths, axis=1)
    best = np.argmin(table, axis=1)          # the first of equal lengths, as OMPL's strict comparison
    rows = np.arange(len(x))
    return table[rows, best], np.array(words, dtype=np.int16)[best], np.stack(params, axis=1)[rows, best]


def _reeds_shepp_pairs(a: np.ndarray, b: np.ndarray, r: float) -> tuple[np.ndarray, ...]:
    dx, dy = b[:, 0] - a[:, 0], b[:, 1] - a[:, 1]
    c, s = np.cos(a[:, 2]), np.sin(a[:, 2])
    return _reeds_shepp_unit((c * dx + s * dy) / r, (-s * dx + c * dy) / r, b[:, 2] - a[:, 2])


def reeds_shepp_shortest(q0: np.ndarray, q1: np.ndarray, radius_m: float) -> tuple[np.ndarray, np.ndarray,
                                                                                    np.ndarray]:
    """Shortest Reeds-Shepp paths for N pose pairs: (length_m[N], word int16[N], signed params[N, 5]).

    A pair with a non-finite pose (or a bad radius) gets length NaN, word -1 and NaN params.
    """
    return _search(q0, q1, radius_m, _reeds_shepp_pairs, np.int16, 5)


def reeds_shepp_one(start: Sequence[float], goal: Sequence[float], radius_m: float
                    ) -> tuple[tuple[float, float, float], float, int, tuple[float, ...]]:
    """One pair from plain sequences: ``((x0, y0, h0), length_m, word, params[5])``; word -1 if bad input."""
    return _one(start, goal, radius_m, reeds_shepp_shortest)


# ----------------------------------------------------------------------------------------------- sampling
def _wrap(h: np.ndarray | float) -> np.ndarray | float:
    """Angles in (-pi, pi]."""
    return h - TWO_PI * np.ceil((h - math.pi) / TWO_PI)


def _advance(x: float, y: float, h: float, letter: str, s: np.ndarray | float, r: float):
    """Poses after driving ``s`` (signed, metres; scalar or array) along one segment from (x, y, h)."""
    if letter == "S":
        return x + s * np.cos(h), y + s * np.sin(h), h + 0.0 * s
    k = _SEG_SIGN[letter]
    a = h + k * s / r
    return x + k * r * (np.sin(a) - np.sin(h)), y + k * r * (np.cos(h) - np.cos(a)), a


def _emit(q0: Sequence[float], letters: str, lengths_m: Sequence[float], r: float,
          step_m: float) -> np.ndarray:
    """Samples of one path; see ``emit_samples`` in the kernel for the rules."""
    tiny = SEGMENT_TINY * r
    x, y, h = (float(v) for v in q0)
    pieces = [s for s in lengths_m[:len(letters)] if abs(s) > tiny]
    direction = 1 if not pieces or pieces[0] > 0 else -1
    rows: list[np.ndarray] = [np.array([[x, y, h, direction]])]
    emitted = 0
    for c, s in zip(letters, lengths_m):
        s = float(s)
        if abs(s) <= tiny:
            x, y, h = (float(v) for v in _advance(x, y, h, c, s, r))
            continue
        d = 1 if s > 0 else -1
        if d != direction:
            direction = d
            rows.append(np.array([[x, y, h, d]]))
        n = max(1, math.ceil(abs(s) / step_m))
        k = np.arange(1, n, dtype=np.float64)
        px, py, ph = _advance(x, y, h, c, s * k / n, r)
        rows.append(np.column_stack([px, py, ph, np.full(n - 1, float(d))]))
        x, y, h = (float(v) for v in _advance(x, y, h, c, s, r))
        rows.append(np.array([[x, y, h, d]]))
        emitted += 1
    out = np.concatenate(rows, axis=0)
    if emitted == 0:
        out = np.concatenate([out, [[x, y, h, direction]]], axis=0)
    else:
        out[-1, :3] = x, y, h
    out[:, 2] = _wrap(out[:, 2])
    return out


def _check_radius_step(radius_m: float, step_m: float) -> None:
    if not (math.isfinite(radius_m) and radius_m > 0.0):
        raise ValueError(f"radius_m must be finite and > 0, got {radius_m}")
    if not (math.isfinite(step_m) and step_m > 0.0):
        raise ValueError(f"step_m must be finite and > 0, got {step_m}")


def _letters(words: tuple[str, ...], word: int) -> str:
    if not 0 <= word < len(words):
        kind = "Dubins" if words is DUBINS_WORDS else "Reeds-Shepp"
        raise ValueError(f"{kind} word must be in 0..{len(words) - 1}, got {word}")
    return words[word]


def _sample(words: tuple[str, ...], n_params: int, q0: Sequence[float], word: int, params: Sequence[float],
            radius_m: float, step_m: float) -> np.ndarray:
    _check_radius_step(radius_m, step_m)
    lengths = [float(v) for v in params]
    if len(lengths) != n_params:
        raise ValueError(f"need {n_params} segment lengths, got {len(lengths)}")
    return _emit(q0, _letters(words, int(word)), lengths, radius_m, step_m)


def _sample_many(words: tuple[str, ...], n_params: int, q0: np.ndarray, word: np.ndarray, params: np.ndarray,
                 radius_m: float, step_m: float) -> tuple[np.ndarray, np.ndarray]:
    _check_radius_step(radius_m, step_m)
    q0, word, params = np.asarray(q0, float), np.asarray(word), np.asarray(params, float)
    n = q0.shape[0]
    if q0.shape[1:] != (3,) or params.shape != (n, n_params) or word.shape != (n,):
        raise ValueError(f"need q0 (N, 3), words (N,) and params (N, {n_params})")
    letters = [_letters(words, int(w)) for w in word]
    parts = [_emit(q0[i], letters[i], params[i], radius_m, step_m) for i in range(n)]
    offsets = np.zeros(n + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(p) for p in parts])
    points = np.concatenate(parts, axis=0) if parts else np.empty((0, 4))
    return points, offsets


def _end_pose(words: tuple[str, ...], q0: Sequence[float], word: int, params: Sequence[float],
              radius_m: float) -> tuple[float, float, float]:
    _check_radius_step(radius_m, 1.0)
    x, y, h = (float(v) for v in q0)
    for c, s in zip(_letters(words, int(word)), params):
        x, y, h = (float(v) for v in _advance(x, y, h, c, float(s), radius_m))
    return x, y, float(_wrap(h))


def sample_dubins(q0: Sequence[float], word: int, params: Sequence[float], radius_m: float,
                  step_m: float) -> np.ndarray:
    """Samples ``(x, y, heading, direction)`` at most ``step_m`` apart along one Dubins path: float64[M, 4]."""
    return _sample(DUBINS_WORDS, 3, q0, word, params, radius_m, step_m)


def sample_reeds_shepp(q0: Sequence[float], word: int, params: Sequence[float], radius_m: float,
                       step_m: float) -> np.ndarray:
    """Samples ``(x, y, heading, direction)`` along one Reeds-Shepp path; the pose repeats at a cusp."""
    return _sample(REEDS_SHEPP_WORDS, 5, q0, word, params, radius_m, step_m)


def sample_dubins_many(q0: np.ndarray, words: np.ndarray, params: np.ndarray, radius_m: float,
                       step_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Samples of N Dubins paths in one array: (points float64[M, 4], offsets int64[N + 1])."""
    return _sample_many(DUBINS_WORDS, 3, q0, words, params, radius_m, step_m)


def sample_reeds_shepp_many(q0: np.ndarray, words: np.ndarray, params: np.ndarray, radius_m: float,
                            step_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Samples of N Reeds-Shepp paths in one array: (points float64[M, 4], offsets int64[N + 1])."""
    return _sample_many(REEDS_SHEPP_WORDS, 5, q0, words, params, radius_m, step_m)


def dubins_end(q0: Sequence[float], word: int, params: Sequence[float], radius_m: float
               ) -> tuple[float, float, float]:
    """The end pose ``(x, y, heading)`` of a Dubins path, heading in (-pi, pi]."""
    return _end_pose(DUBINS_WORDS, q0, word, params, radius_m)


def reeds_shepp_end(q0: Sequence[float], word: int, params: Sequence[float], radius_m: float
                    ) -> tuple[float, float, float]:
    """The end pose ``(x, y, heading)`` of a Reeds-Shepp path, heading in (-pi, pi]."""
    return _end_pose(REEDS_SHEPP_WORDS, q0, word, params, radius_m)


def _curve(one, kind: str, cls: type, start: Sequence[float], goal: Sequence[float], radius_m: float):
    s, length, word, params = one(start, goal, radius_m)
    if word < 0:
        return None
    obj = object.__new__(cls)
    for name, value in zip(CURVE_FIELDS, (kind, s, word, params, _real(radius_m), length)):
        object.__setattr__(obj, name, value)
    return obj


def dubins_curve(cls: type, start: Sequence[float], goal: Sequence[float], radius_m: float):
    """One pair as an instance of ``cls`` with fields ``CURVE_FIELDS`` (kind "dubins"); None if bad input."""
    return _curve(dubins_one, "dubins", cls, start, goal, radius_m)


def reeds_shepp_curve(cls: type, start: Sequence[float], goal: Sequence[float], radius_m: float):
    """One pair as an instance of ``cls`` (kind "reeds-shepp"); None if bad input."""
    return _curve(reeds_shepp_one, "reeds-shepp", cls, start, goal, radius_m)


def _fast_sincos(x: float) -> tuple[float, float]:
    """The kernel's test hook, here simply libm's."""
    return math.sin(x), math.cos(x)


def _fast_atan2(y: float, x: float) -> float:
    """The kernel's test hook, here simply libm's."""
    return math.atan2(y, x)


def _simd(flag: bool | None = None) -> bool:
    """Test hook, as in the kernel: the reference has no SIMD lanes."""
    return False
