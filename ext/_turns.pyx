# cython: language_level=3
"""Shortest Dubins and Reeds-Shepp paths between poses, and their sampling into path points.

A pose is ``(x, y, heading)`` in metres and radians, heading counter-clockwise from +x. A path is a word
(segment kinds L, S, R; see ``DUBINS_WORDS``) and signed segment lengths in metres (negative = driven in
reverse). The search works in units of the turning radius with the candidate words, formulas and tolerances
of OMPL's ``DubinsStateSpace`` (non-symmetric distance) so that lengths agree with OMPL: Dubins distance is
discontinuous, and only the same tolerances give the same answer next to a discontinuity. Each candidate is
skipped as soon as a cheap lower bound (its straight or middle arc) cannot beat the best so far, which gives
the same choice with fewer transcendental calls.

Entry points: ``dubins_shortest`` (batch over arrays), ``dubins_one`` (one pair from plain sequences: the
single-call fast path, no numpy), ``sample_dubins`` / ``sample_dubins_many`` (path points) and ``dubins_end``.
The reference implementation with the same functions is ``_turns_ref.py``.
"""
import numpy as np
cimport numpy as cnp
from libc.math cimport atan2, acos, sqrt, sin, cos, floor, ceil, fabs, isfinite, NAN, INFINITY, M_PI

cnp.import_array()

DUBINS_WORDS = ("LSL", "LSR", "RSL", "RSR", "RLR", "LRL")
# Segments shorter than SEGMENT_TINY radii are traced but emit no sample of their own and never make a cusp.
SEGMENT_TINY = 1e-10

cdef double TWO_PI = 2.0 * M_PI
cdef double DUBINS_EPS = 1e-6      # OMPL: coincident poses, and snapping of angles just below 2 pi to 0
cdef double DUBINS_ZERO = -1e-7    # OMPL: angles and squared tangent lengths this close below 0 count as 0
cdef double TINY = SEGMENT_TINY

cdef enum DubinsWord:
    W_LSL = 0
    W_LSR = 1
    W_RSL = 2
    W_RSR = 3
    W_RLR = 4
    W_LRL = 5

cdef int _DUBINS_SEGS[18]
_SEGMENT_OF = {"L": SEG_LEFT, "S": SEG_STRAIGHT, "R": SEG_RIGHT}
for _w, _word in enumerate(DUBINS_WORDS):
    for _j, _c in enumerate(_word):
        _DUBINS_SEGS[3 * _w + _j] = _SEGMENT_OF[_c]


# ---------------------------------------------------------------------------------------------- Dubins search
cdef inline double _dmod(double x) noexcept nogil:
    """Angle in [0, 2 pi), with OMPL's snapping of rounding noise around 0 and 2 pi to 0."""
    cdef double xm
    if x < 0.0 and x > DUBINS_ZERO:
        return 0.0
    xm = x - TWO_PI * floor(x / TWO_PI)
    if TWO_PI - xm < 0.5 * DUBINS_EPS:
        xm = 0.0
    return xm


cdef inline void _take(TurnPath* best, int word, double t, double p, double q) noexcept nogil:
    cdef double length = t + p + q
    if length < best.length:
        best.length = length
        best.word = word
        best.seg[0] = t
        best.seg[1] = p
        best.seg[2] = q


cdef void _dubins_unit(double d, double alpha, double beta, TurnPath* best) noexcept nogil:
    """Shortest Dubins word from (0, 0, alpha) to (d, 0, beta), radius 1; candidates in OMPL's order."""
    cdef double ca, sa, cb, sb, cab, tmp, p, t, q, theta, theta_l = 0.0, theta_r = 0.0
    cdef bint have_l = False, have_r = False
    best.length = INFINITY
    best.word = -1
    best.seg[0] = best.seg[1] = best.seg[2] = best.seg[3] = best.seg[4] = 0.0
    if d < DUBINS_EPS and fabs(alpha - beta) < DUBINS_EPS:
        _take(best, W_LSL, 0.0, d, 0.0)
        return
    ca = cos(alpha)
    sa = sin(alpha)
    cb = cos(beta)
    sb = sin(beta)
    cab = ca * cb + sa * sb
    # CSC words: the straight p is a lower bound of the length (t, q >= 0).
    tmp = 2.0 + d * d - 2.0 * (cab - d * (sa - sb))
    if tmp >= DUBINS_ZERO:                                          # LSL
        p = sqrt(tmp) if tmp > 0.0 else 0.0
        theta_l = atan2(cb - ca, d + sa - sb)
        have_l = True
        _take(best, W_LSL, _dmod(theta_l - alpha), p, _dmod(beta - theta_l))
    tmp = 2.0 + d * d - 2.0 * (cab - d * (sb - sa))
    if tmp >= DUBINS_ZERO:                                          # RSR
        p = sqrt(tmp) if tmp > 0.0 else 0.0
        if p < best.length:
            theta_r = atan2(ca - cb, d - sa + sb)
            have_r = True
            _take(best, W_RSR, _dmod(alpha - theta_r), p, _dmod(theta_r - beta))
    tmp = d * d - 2.0 + 2.0 * (cab - d * (sa + sb))
    if tmp >= DUBINS_ZERO:                                          # RSL
        p = sqrt(tmp) if tmp > 0.0 else 0.0
        if p < best.length:
            theta = atan2(ca + cb, d - sa - sb) - atan2(2.0, p)
            _take(best, W_RSL, _dmod(alpha - theta), p, _dmod(beta - theta))
    tmp = -2.0 + d * d + 2.0 * (cab + d * (sa + sb))
    if tmp >= DUBINS_ZERO:                                          # LSR
        p = sqrt(tmp) if tmp > 0.0 else 0.0
        if p < best.length:
            theta = atan2(-ca - cb, d + sa + sb) - atan2(-2.0, p)
            _take(best, W_LSR, _dmod(theta - alpha), p, _dmod(theta - beta))
    # CCC words: the middle arc p lies in (pi, 2 pi], so nothing to do once a path of length <= pi is known.
    if best.length <= M_PI:
        return
    tmp = 0.125 * (6.0 - d * d + 2.0 * (cab + d * (sa - sb)))
    if fabs(tmp) < 1.0:                                             # RLR
        p = TWO_PI - acos(tmp)
        if p < best.length:
            if not have_r:
                theta_r = atan2(ca - cb, d - sa + sb)
            t = _dmod(alpha - theta_r + 0.5 * p)
            _take(best, W_RLR, t, p, _dmod(alpha - beta - t + p))
    tmp = 0.125 * (6.0 - d * d + 2.0 * (cab - d * (sa - sb)))
    if fabs(tmp) < 1.0:                                             # LRL
        p = TWO_PI - acos(tmp)
        if p < best.length:
            if not have_l:
                theta_l = atan2(cb - ca, d + sa - sb)
            t = _dmod(-alpha + theta_l + 0.5 * p)
            _take(best, W_LRL, t, p, _dmod(beta - alpha - t + p))


cdef inline bint _finite_input(double x0, double y0, double h0, double x1, double y1, double h1,
                               double radius_m) noexcept nogil:
    return (isfinite(x0) and isfinite(y0) and isfinite(h0) and isfinite(x1) and isfinite(y1)
            and isfinite(h1) and isfinite(radius_m) and radius_m > 0.0)


cdef int dubins_pair(double x0, double y0, double h0, double x1, double y1, double h1, double radius_m,
                     TurnPath* out) noexcept nogil:
    """Shortest forward-only path between two poses (lengths of ``out`` in radii)."""
    cdef double dx, dy, d, th
    if not _finite_input(x0, y0, h0, x1, y1, h1, radius_m):
        return TURN_BAD_INPUT
    dx = x1 - x0
    dy = y1 - y0
    d = sqrt(dx * dx + dy * dy) / radius_m
    th = atan2(dy, dx)
    _dubins_unit(d, _dmod(h0 - th), _dmod(h1 - th), out)
    return TURN_OK if out.word >= 0 else TURN_NO_PATH


# ------------------------------------------------------------------------------------------------- sampling
cdef inline Pose _pose(double x, double y, double h) noexcept nogil:
    cdef Pose q
    q.x = x
    q.y = y
    q.h = h
    return q


cdef inline double _wrap(double h) noexcept nogil:
    """Angle in (-pi, pi]."""
    return h - TWO_PI * ceil((h - M_PI) / TWO_PI)


cdef Pose advance(Pose q, int segment, double length_m, double radius_m) noexcept nogil:
    """The pose after driving ``length_m`` (signed; negative = reverse) along one segment from ``q``."""
    cdef Pose o = q
    cdef double a
    if segment == SEG_STRAIGHT:
        o.x = q.x + length_m * cos(q.h)
        o.y = q.y + length_m * sin(q.h)
    elif segment == SEG_LEFT:
        a = q.h + length_m / radius_m
        o.x = q.x + radius_m * (sin(a) - sin(q.h))
        o.y = q.y + radius_m * (cos(q.h) - cos(a))
        o.h = a
    elif segment == SEG_RIGHT:
        a = q.h - length_m / radius_m
        o.x = q.x + radius_m * (sin(q.h) - sin(a))
        o.y = q.y + radius_m * (cos(a) - cos(q.h))
        o.h = a
    return o


cdef inline void _put(double* out, Py_ssize_t m, Pose q, int direction) noexcept nogil:
    if out != NULL:
        out[4 * m] = q.x
        out[4 * m + 1] = q.y
        out[4 * m + 2] = _wrap(q.h)
        out[4 * m + 3] = direction


cdef Py_ssize_t emit_samples(Pose q, const int* segments, const double* lengths_m, int n_segments,
                             double radius_m, double step_m, double* out) noexcept nogil:
    """Write the samples ``(x, y, heading, direction)`` of a path to ``out`` (or only count them if NULL).

    Each segment is cut into ceil(|length| / step) equal pieces, every sample computed from the segment's
    start pose (no drift). Both end poses are included; at a cusp the pose is written once per direction.
    Segments of at most ``SEGMENT_TINY`` radii are traced (the end pose stays exact) but emit nothing.
    """
    cdef Py_ssize_t m = 0, k, n
    cdef int i, direction = 1, d
    cdef double tiny = TINY * radius_m, s
    cdef Pose p
    for i in range(n_segments):
        if segments[i] != SEG_NOP and fabs(lengths_m[i]) > tiny:
            direction = 1 if lengths_m[i] > 0.0 else -1
            break
    _put(out, m, q, direction)
    m += 1
    for i in range(n_segments):
        s = lengths_m[i]
        if segments[i] == SEG_NOP:
            continue
        if fabs(s) <= tiny:
            q = advance(q, segments[i], s, radius_m)
            continue
        d = 1 if s > 0.0 else -1
        if d != direction:
            direction = d
            _put(out, m, q, d)
            m += 1
        n = <Py_ssize_t>ceil(fabs(s) / step_m)
        if n < 1:
            n = 1
        for k in range(1, n):
            p = advance(q, segments[i], s * k / n, radius_m)
            _put(out, m, p, d)
            m += 1
        q = advance(q, segments[i], s, radius_m)
        _put(out, m, q, d)
        m += 1
    if m == 1:
        _put(out, m, q, direction)          # a path of zero length still has a start and an end
        m += 1
    else:
        _put(out, m - 1, q, direction)      # the exact end, also after trailing tiny segments
    return m


cdef Pose _end(Pose q, const int* segments, const double* lengths_m, int n_segments,
               double radius_m) noexcept nogil:
    cdef int i
    for i in range(n_segments):
        q = advance(q, segments[i], lengths_m[i], radius_m)
    q.h = _wrap(q.h)
    return q


# ------------------------------------------------------------------------------------------ Python entry points
def _check_radius_step(double radius_m, double step_m):
    if not (isfinite(radius_m) and radius_m > 0.0):
        raise ValueError(f"radius_m must be finite and > 0, got {radius_m}")
    if not (isfinite(step_m) and step_m > 0.0):
        raise ValueError(f"step_m must be finite and > 0, got {step_m}")


def _check_pairs(q0, q1):
    if q0.shape[1] != 3 or q1.shape[1] != 3 or q0.shape[0] != q1.shape[0]:
        raise ValueError(f"poses must be two (N, 3) arrays of equal N, got {q0.shape} and {q1.shape}")


def dubins_shortest(const double[:, ::1] q0, const double[:, ::1] q1, double radius_m):
    """Shortest Dubins paths for N pose pairs: (length_m[N], word int8[N], params_m[N, 3]).

    A pair with a non-finite pose (or a bad radius) gets length NaN, word -1 and NaN params.
    """
    _check_pairs(q0, q1)
    cdef Py_ssize_t i, n = q0.shape[0]
    lengths = np.empty(n, dtype=np.float64)
    words = np.empty(n, dtype=np.int8)
    params = np.empty((n, 3), dtype=np.float64)
    cdef double[::1] lv = lengths
    cdef signed char[::1] wv = words
    cdef double[:, ::1] pv = params
    cdef TurnPath path
    with nogil:
        for i in range(n):
            if dubins_pair(q0[i, 0], q0[i, 1], q0[i, 2], q1[i, 0], q1[i, 1], q1[i, 2], radius_m,
                           &path) == TURN_OK:
                lv[i] = radius_m * path.length
                wv[i] = <signed char>path.word
                pv[i, 0] = radius_m * path.seg[0]
                pv[i, 1] = radius_m * path.seg[1]
                pv[i, 2] = radius_m * path.seg[2]
            else:
                lv[i] = NAN
                wv[i] = -1
                pv[i, 0] = pv[i, 1] = pv[i, 2] = NAN
    return lengths, words, params


def dubins_one(start, goal, double radius_m):
    """One pair from plain sequences: ``((x0, y0, h0), length_m, word, (t, p, q))``; word -1 if bad input."""
    cdef double x0, y0, h0, x1, y1, h1
    cdef TurnPath path
    x0, y0, h0 = start
    x1, y1, h1 = goal
    if dubins_pair(x0, y0, h0, x1, y1, h1, radius_m, &path) != TURN_OK:
        return (x0, y0, h0), NAN, -1, (NAN, NAN, NAN)
    return ((x0, y0, h0), radius_m * path.length, path.word,
            (radius_m * path.seg[0], radius_m * path.seg[1], radius_m * path.seg[2]))


cdef int _dubins_word(long word) except -1:
    if not 0 <= word < 6:
        raise ValueError(f"Dubins word must be in 0..5, got {word}")
    return <int>word


def sample_dubins(q0, long word, params, double radius_m, double step_m):
    """Samples ``(x, y, heading, direction)`` every ``step_m`` at most along one Dubins path: float64[M, 4]."""
    _check_radius_step(radius_m, step_m)
    cdef int w = _dubins_word(word)
    cdef Pose q
    cdef double lengths[3]
    q.x, q.y, q.h = q0
    lengths[0], lengths[1], lengths[2] = params
    cdef Py_ssize_t m = emit_samples(q, &_DUBINS_SEGS[3 * w], lengths, 3, radius_m, step_m, NULL)
    out = np.empty((m, 4), dtype=np.float64)
    cdef double[:, ::1] ov = out
    emit_samples(q, &_DUBINS_SEGS[3 * w], lengths, 3, radius_m, step_m, &ov[0, 0])
    return out


def sample_dubins_many(const double[:, ::1] q0, const signed char[::1] words, const double[:, ::1] params,
                       double radius_m, double step_m):
    """Samples of N Dubins paths in one array: (points float64[M, 4], offsets int64[N + 1])."""
    _check_radius_step(radius_m, step_m)
    cdef Py_ssize_t i, n = q0.shape[0]
    if q0.shape[1] != 3 or params.shape[1] != 3 or words.shape[0] != n or params.shape[0] != n:
        raise ValueError("sample_dubins_many needs q0 (N, 3), words (N,) and params (N, 3)")
    for i in range(n):
        _dubins_word(words[i])
    offsets = np.empty(n + 1, dtype=np.int64)
    cdef cnp.int64_t[::1] off = offsets
    cdef Pose q
    off[0] = 0
    with nogil:
        for i in range(n):
            q = _pose(q0[i, 0], q0[i, 1], q0[i, 2])
            off[i + 1] = off[i] + emit_samples(q, &_DUBINS_SEGS[3 * words[i]], &params[i, 0], 3, radius_m,
                                               step_m, NULL)
    points = np.empty((off[n], 4), dtype=np.float64)
    if n == 0:
        return points, offsets
    cdef double[:, ::1] pv = points
    cdef double* base = &pv[0, 0] if off[n] > 0 else NULL
    with nogil:
        for i in range(n):
            q = _pose(q0[i, 0], q0[i, 1], q0[i, 2])
            emit_samples(q, &_DUBINS_SEGS[3 * words[i]], &params[i, 0], 3, radius_m, step_m, base + 4 * off[i])
    return points, offsets


def dubins_end(q0, long word, params, double radius_m):
    """The end pose ``(x, y, heading)`` of a Dubins path, heading in (-pi, pi]."""
    _check_radius_step(radius_m, 1.0)
    cdef int w = _dubins_word(word)
    cdef Pose q
    cdef double lengths[3]
    q.x, q.y, q.h = q0
    lengths[0], lengths[1], lengths[2] = params
    q = _end(q, &_DUBINS_SEGS[3 * w], lengths, 3, radius_m)
    return (q.x, q.y, q.h)
