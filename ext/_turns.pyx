# cython: language_level=3
"""Shortest Dubins and Reeds-Shepp paths between poses, and their sampling into path points.

A pose is ``(x, y, heading)`` in metres and radians, heading counter-clockwise from +x. A path is a word
(segment kinds L, S, R; see ``DUBINS_WORDS`` and ``REEDS_SHEPP_WORDS``) and signed segment lengths in
metres (negative = driven in reverse). The searches live in ``_turns_dubins`` and ``_turns_rs`` (OMPL's
candidate words and tolerances, so that lengths agree with OMPL); this module samples paths and holds the
Python entry points, for ``dubins`` and ``reeds_shepp`` alike:

- ``*_shortest``: batch over (N, 3) float64 arrays;
- ``*_one``: one pair from plain sequences, returned as a tuple (no numpy);
- ``*_curve``: one pair, returned as an instance of a given frozen slots class (``CURVE_FIELDS``) built
  here without running its ``__init__``: the single-call path of ``planners.curves.shortest``, where
  building the object in Python would cost as much as the search;
- ``sample_*`` / ``sample_*_many``: path points; ``*_end``: the end pose.

The reference implementation with the same functions is ``_turns_ref.py``.
"""
import os

from types import MemberDescriptorType

import numpy as np
from cython.parallel cimport prange
cimport numpy as cnp
from cpython.object cimport PyObject_GenericSetAttr
from libc.math cimport sin, cos, ceil, fabs, isfinite, NAN, M_PI
from libc.string cimport memset

from agrifleet.ext._turns_base cimport (TWO_PI, SEGMENT_TINY_RADII, SEG_NOP, SEG_LEFT, SEG_STRAIGHT,
                                        SEG_RIGHT, TurnPath, Pose, TURN_OK, fast_sincos, fast_atan2)
from agrifleet.ext._turns_dubins cimport dubins_block, dubins_pair, use_simd
from agrifleet.ext._turns_rs cimport reeds_shepp_pair, rs_use_simd

cnp.import_array()

DUBINS_WORDS = ("LSL", "LSR", "RSL", "RSR", "RLR", "LRL")
# Reeds-Shepp word table (the order of OMPL's reedsSheppPathType). The 48 words of Reeds & Shepp are these
# letter sequences with the direction of each segment given by the sign of its length.
REEDS_SHEPP_WORDS = ("LRL", "RLR", "LRLR", "RLRL", "LRSL", "RLSR", "LSRL", "RSLR", "LRSR", "RLSL", "RSRL",
                     "LSLR", "LSR", "RSL", "LSL", "RSR", "LRSLR", "RLSRL")
# Segments shorter than SEGMENT_TINY radii are traced but emit no sample of their own and never make a cusp.
SEGMENT_TINY = SEGMENT_TINY_RADII
# The fields (in order) of the curve type that ``dubins_curve`` / ``reeds_shepp_curve`` fill in.
CURVE_FIELDS = ("kind", "start", "word", "params", "radius_m", "length_m")

cdef int _DUBINS_SEGS[18]
cdef int _RS_SEGS[90]
_SEGMENT_OF = {"L": SEG_LEFT, "S": SEG_STRAIGHT, "R": SEG_RIGHT}
for _w, _word in enumerate(DUBINS_WORDS):
    for _j, _c in enumerate(_word):
        _DUBINS_SEGS[3 * _w + _j] = _SEGMENT_OF[_c]
for _w, _word in enumerate(REEDS_SHEPP_WORDS):
    for _j in range(5):
        _RS_SEGS[5 * _w + _j] = _SEGMENT_OF[_word[_j]] if _j < len(_word) else SEG_NOP


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
    cdef double tiny = SEGMENT_TINY_RADII * radius_m, s
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


# ----------------------------------------------------------------------------------------- Python entry points
ctypedef int (*pair_fn)(double, double, double, double, double, double, double, TurnPath*) noexcept nogil

cdef enum Kind:
    DUBINS = 0
    REEDS_SHEPP = 1

cdef int _N_SEG[2]
_N_SEG[0], _N_SEG[1] = 3, 5


cdef inline pair_fn _pair_fn(int kind) noexcept nogil:
    return dubins_pair if kind == DUBINS else reeds_shepp_pair


cdef inline const int* _segments(int kind, long word) noexcept nogil:
    return &_DUBINS_SEGS[3 * word] if kind == DUBINS else &_RS_SEGS[5 * word]


cdef long _check_word(int kind, long word) except -1:
    cdef long n = 6 if kind == DUBINS else 18
    if not 0 <= word < n:
        name = "Dubins" if kind == DUBINS else "Reeds-Shepp"
        raise ValueError(f"{name} word must be in 0..{n - 1}, got {word}")
    return word


def _check_radius_step(double radius_m, double step_m):
    if not (isfinite(radius_m) and radius_m > 0.0):
        raise ValueError(f"radius_m must be finite and > 0, got {radius_m}")
    if not (isfinite(step_m) and step_m > 0.0):
        raise ValueError(f"step_m must be finite and > 0, got {step_m}")


cdef void _dubins_rows(const double* q0, const double* q1, int m, double radius_m, double* lengths,
                       cnp.int64_t* words, double* params) noexcept nogil:
    """Rows ``0 .. m-1`` (m <= 4) of a Dubins batch, as ``_shortest`` writes them."""
    cdef TurnPath path[4]
    cdef int status[4]
    cdef int i, j
    dubins_block(q0, q1, m, radius_m, path, status)
    for i in range(m):
        if status[i] == TURN_OK:
            lengths[i] = radius_m * path[i].length
            words[i] = path[i].word
            for j in range(3):
                params[3 * i + j] = radius_m * path[i].seg[j]
        else:
            lengths[i] = NAN
            words[i] = -1
            for j in range(3):
                params[3 * i + j] = NAN


cdef tuple _shortest(int kind, const double[:, ::1] q0, const double[:, ::1] q1, double radius_m, word_dtype):
    if q0.shape[1] != 3 or q1.shape[1] != 3 or q0.shape[0] != q1.shape[0]:
        raise ValueError(f"poses must be two (N, 3) arrays of equal N, got {(q0.shape[0], q0.shape[1])} and "
                         f"{(q1.shape[0], q1.shape[1])}")
    cdef Py_ssize_t i, j, n = q0.shape[0], k = _N_SEG[kind]
    cdef pair_fn fn = _pair_fn(kind)
    lengths = np.empty(n, dtype=np.float64)
    words = np.empty(n, dtype=np.int64)
    params = np.empty((n, k), dtype=np.float64)
    cdef double[::1] lv = lengths
    cdef cnp.int64_t[::1] wv = words
    cdef double[:, ::1] pv = params
    cdef TurnPath path
    # Large batches are split over the cores (OpenMP); a thread costs more than a few thousand pairs.
    cdef int threads = 1 if n < _PARALLEL_MIN else _THREADS
    cdef TurnPath blank
    cdef Py_ssize_t b
    if kind == DUBINS:     # four pairs per block: the SIMD lanes (see _turns_dubins.dubins_block)
        with nogil:
            for b in prange((n + 3) // 4, schedule="dynamic", chunksize=64, num_threads=threads):
                i = 4 * b
                _dubins_rows(&q0[i, 0], &q1[i, 0], <int>(n - i if n - i < 4 else 4), radius_m, &lv[i], &wv[i],
                             &pv[i, 0])
        return lengths, words.astype(word_dtype), params
    memset(&blank, 0, sizeof(TurnPath))
    with nogil:
        for i in prange(n, schedule="dynamic", chunksize=256, num_threads=threads):
            path = blank  # assigned in the loop: private to each thread
            if fn(q0[i, 0], q0[i, 1], q0[i, 2], q1[i, 0], q1[i, 1], q1[i, 2], radius_m, &path) == TURN_OK:
                lv[i] = radius_m * path.length
                wv[i] = path.word
                for j in range(k):
                    pv[i, j] = radius_m * path.seg[j]
            else:
                lv[i] = NAN
                wv[i] = -1
                for j in range(k):
                    pv[i, j] = NAN
    return lengths, words.astype(word_dtype), params


cdef tuple _one(int kind, start, goal, double radius_m):
    cdef double x0, y0, h0, x1, y1, h1
    cdef TurnPath path
    x0, y0, h0 = start
    x1, y1, h1 = goal
    if _pair_fn(kind)(x0, y0, h0, x1, y1, h1, radius_m, &path) != TURN_OK:
        return (x0, y0, h0), NAN, -1, (NAN,) * _N_SEG[kind]
    if kind == DUBINS:
        return ((x0, y0, h0), radius_m * path.length, path.word,
                (radius_m * path.seg[0], radius_m * path.seg[1], radius_m * path.seg[2]))
    return ((x0, y0, h0), radius_m * path.length, path.word,
            (radius_m * path.seg[0], radius_m * path.seg[1], radius_m * path.seg[2], radius_m * path.seg[3],
             radius_m * path.seg[4]))


cdef Py_ssize_t _PARALLEL_MIN = 4096
cdef int _THREADS = max(1, min(len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else (os.cpu_count() or 1), 16))

cdef object _OBJECT_NEW = object.__new__
cdef tuple _NO_ARGS = ()
cdef dict _CURVE_SLOTS = {}

cdef extern from *:
    """
    /* A frozen slots class refuses __setattr__; its member descriptors still write the slots. */
    static int agf_turns_slot_set(PyObject *descr, PyObject *obj, PyObject *value) {
        return Py_TYPE(descr)->tp_descr_set(descr, obj, value);
    }
    static PyObject *agf_turns_new(PyObject *cls, PyObject *no_args) {
        return ((PyTypeObject *)cls)->tp_new((PyTypeObject *)cls, no_args, NULL);
    }
    """
    int agf_turns_slot_set(object descr, object obj, object value) except -1
    object agf_turns_new(object cls, object no_args)


cdef object _curve_slots(cls):
    """The member descriptors of ``cls``'s ``CURVE_FIELDS`` (cached), or None when one is not a slot."""
    slots = _CURVE_SLOTS.get(cls, False)
    if slots is False:
        found = [next((c.__dict__[name] for c in cls.__mro__ if name in c.__dict__), None) for name in CURVE_FIELDS]
        slots = tuple(found) if all(isinstance(d, MemberDescriptorType) for d in found) else None
        _CURVE_SLOTS[cls] = slots
    return slots


cdef object _curve(int kind, cls, start, goal, double radius_m):
    """One pair as an instance of ``cls`` (fields ``CURVE_FIELDS``), or None for bad input.

    The instance is made without running ``__init__``/``__post_init__`` (the values come from the search
    and are valid by construction; building the object in Python would cost as much as the search): its
    slots are written through their member descriptors, which a frozen dataclass's own ``__setattr__`` does
    not intercept (the generic setattr for a class without slots).
    """
    cdef double x0, y0, h0, x1, y1, h1, r = radius_m
    cdef TurnPath p
    x0, y0, h0 = start
    x1, y1, h1 = goal
    if _pair_fn(kind)(x0, y0, h0, x1, y1, h1, radius_m, &p) != TURN_OK:
        return None
    name = "dubins" if kind == DUBINS else "reeds-shepp"
    if kind == DUBINS:
        params = (r * p.seg[0], r * p.seg[1], r * p.seg[2])
    else:
        params = (r * p.seg[0], r * p.seg[1], r * p.seg[2], r * p.seg[3], r * p.seg[4])
    values = (name, (x0, y0, h0), p.word, params, r, r * p.length)
    slots = _curve_slots(cls)
    if slots is None:
        obj = _OBJECT_NEW(cls)
        for field, value in zip(CURVE_FIELDS, values):
            PyObject_GenericSetAttr(obj, field, value)
        return obj
    obj = agf_turns_new(cls, _NO_ARGS)
    for k in range(6):
        agf_turns_slot_set((<tuple>slots)[k], obj, (<tuple>values)[k])
    return obj


cdef Pose _unpack(int kind, q0, params, double* lengths) except *:
    cdef Pose q
    q.x, q.y, q.h = q0
    if kind == DUBINS:
        lengths[0], lengths[1], lengths[2] = params
    else:
        lengths[0], lengths[1], lengths[2], lengths[3], lengths[4] = params
    return q


cdef object _sample(int kind, q0, long word, params, double radius_m, double step_m):
    _check_radius_step(radius_m, step_m)
    _check_word(kind, word)
    cdef double lengths[5]
    cdef Pose q = _unpack(kind, q0, params, lengths)
    cdef const int* segs = _segments(kind, word)
    cdef int k = _N_SEG[kind]
    cdef Py_ssize_t m = emit_samples(q, segs, lengths, k, radius_m, step_m, NULL)
    out = np.empty((m, 4), dtype=np.float64)
    cdef double[:, ::1] ov = out
    emit_samples(q, segs, lengths, k, radius_m, step_m, &ov[0, 0])
    return out


cdef tuple _sample_many(int kind, const double[:, ::1] q0, words, const double[:, ::1] params,
                        double radius_m, double step_m):
    _check_radius_step(radius_m, step_m)
    cdef Py_ssize_t i, n = q0.shape[0]
    cdef int k = _N_SEG[kind]
    cdef const cnp.int64_t[::1] wv = np.ascontiguousarray(words, dtype=np.int64)
    if q0.shape[1] != 3 or params.shape[1] != k or wv.shape[0] != n or params.shape[0] != n:
        raise ValueError(f"need q0 (N, 3), words (N,) and params (N, {k})")
    for i in range(n):
        _check_word(kind, wv[i])
    offsets = np.empty(n + 1, dtype=np.int64)
    cdef cnp.int64_t[::1] off = offsets
    off[0] = 0
    with nogil:
        for i in range(n):
            off[i + 1] = off[i] + emit_samples(_pose(q0[i, 0], q0[i, 1], q0[i, 2]), _segments(kind, wv[i]),
                                               &params[i, 0], k, radius_m, step_m, NULL)
    points = np.empty((off[n], 4), dtype=np.float64)
    if off[n] == 0:
        return points, offsets
    cdef double[:, ::1] pv = points
    cdef double* base = &pv[0, 0]
    with nogil:
        for i in range(n):
            emit_samples(_pose(q0[i, 0], q0[i, 1], q0[i, 2]), _segments(kind, wv[i]), &params[i, 0], k,
                         radius_m, step_m, base + 4 * off[i])
    return points, offsets


cdef tuple _end_pose(int kind, q0, long word, params, double radius_m):
    _check_radius_step(radius_m, 1.0)
    _check_word(kind, word)
    cdef double lengths[5]
    cdef Pose q = _unpack(kind, q0, params, lengths)
    q = _end(q, _segments(kind, word), lengths, _N_SEG[kind], radius_m)
    return (q.x, q.y, q.h)


def dubins_shortest(q0, q1, double radius_m):
    """Shortest Dubins paths for N pose pairs (float64 (N, 3)): (length_m[N], word int8[N], params[N, 3]).

    A pair with a non-finite pose (or a bad radius) gets length NaN, word -1 and NaN params.
    """
    return _shortest(DUBINS, q0, q1, radius_m, np.int8)


def reeds_shepp_shortest(q0, q1, double radius_m):
    """Shortest Reeds-Shepp paths for N pose pairs: (length_m[N], word int16[N], signed params[N, 5]).

    A pair with a non-finite pose (or a bad radius) gets length NaN, word -1 and NaN params.
    """
    return _shortest(REEDS_SHEPP, q0, q1, radius_m, np.int16)


def dubins_one(start, goal, double radius_m):
    """One pair from plain sequences: ``((x0, y0, h0), length_m, word, (t, p, q))``; word -1 if bad input."""
    return _one(DUBINS, start, goal, radius_m)


def reeds_shepp_one(start, goal, double radius_m):
    """One pair from plain sequences: ``((x0, y0, h0), length_m, word, params[5])``; word -1 if bad input."""
    return _one(REEDS_SHEPP, start, goal, radius_m)


def dubins_curve(cls, start, goal, double radius_m):
    """One pair as an instance of ``cls`` with fields ``CURVE_FIELDS`` (kind "dubins"); None if bad input."""
    return _curve(DUBINS, cls, start, goal, radius_m)


def reeds_shepp_curve(cls, start, goal, double radius_m):
    """One pair as an instance of ``cls`` (kind "reeds-shepp"); None if bad input."""
    return _curve(REEDS_SHEPP, cls, start, goal, radius_m)


def sample_dubins(q0, long word, params, double radius_m, double step_m):
    """Samples ``(x, y, heading, direction)`` at most ``step_m`` apart along one Dubins path: float64[M, 4]."""
    return _sample(DUBINS, q0, word, params, radius_m, step_m)


def sample_reeds_shepp(q0, long word, params, double radius_m, double step_m):
    """Samples ``(x, y, heading, direction)`` along one Reeds-Shepp path; the pose repeats at a cusp."""
    return _sample(REEDS_SHEPP, q0, word, params, radius_m, step_m)


def sample_dubins_many(q0, words, params, double radius_m, double step_m):
    """Samples of N Dubins paths in one array: (points float64[M, 4], offsets int64[N + 1])."""
    return _sample_many(DUBINS, q0, words, params, radius_m, step_m)


def sample_reeds_shepp_many(q0, words, params, double radius_m, double step_m):
    """Samples of N Reeds-Shepp paths in one array: (points float64[M, 4], offsets int64[N + 1])."""
    return _sample_many(REEDS_SHEPP, q0, words, params, radius_m, step_m)


def dubins_end(q0, long word, params, double radius_m):
    """The end pose ``(x, y, heading)`` of a Dubins path, heading in (-pi, pi]."""
    return _end_pose(DUBINS, q0, word, params, radius_m)


def reeds_shepp_end(q0, long word, params, double radius_m):
    """The end pose ``(x, y, heading)`` of a Reeds-Shepp path, heading in (-pi, pi]."""
    return _end_pose(REEDS_SHEPP, q0, word, params, radius_m)


def _fast_sincos(double x):
    """Test hook: ``(sin x, cos x)`` from the kernels' own sincos (``_turns_base.fast_sincos``)."""
    cdef double sn, cs
    fast_sincos(x, &sn, &cs)
    return sn, cs


def _simd(flag=None):
    """Test hook: whether pairs run on the SIMD lanes; ``flag`` switches them (where the CPU can)."""
    cdef int f = -1 if flag is None else int(bool(flag))
    cdef bint dubins = use_simd(f), reeds_shepp = rs_use_simd(f)
    return bool(dubins and reeds_shepp)


def _fast_atan2(double y, double x):
    """Test hook: ``atan2(y, x)`` from the kernels' own atan2 (``_turns_base.fast_atan2``)."""
    return fast_atan2(y, x)
