# cython: language_level=3
"""Shortest Dubins path (forwards only) between two poses: OMPL's answer, faster.

The candidate words, formulas and tolerances are those of OMPL's ``DubinsStateSpace`` with ``isSymmetric``
false, so that lengths agree with OMPL. Dubins distance is discontinuous, and only the same tolerances give
the same answer next to a discontinuity: OMPL snaps angles within ~1e-7 of 0 or 2 pi to 0, treats squared
tangent lengths down to -1e-7 as 0, and calls poses closer than 1e-6 radii with headings within 1e-6
coincident (a straight of that length).

``dubins_pair`` takes a fast path for the common case (``_dubins_fast``): circle centres in the start's frame
instead of OMPL's angles to the goal direction, a lower bound for every word from square roots only, and
OMPL's formula (with our fast atan2) only for the words whose bound can still win. Near any of OMPL's
thresholds it runs ``_dubins_unit``, a plain transcription of OMPL's search. Reference: ``_turns_ref.py``.
"""
import os

from libc.math cimport atan2, acos, sqrt, sin, cos, floor, fabs, isfinite, INFINITY, M_PI

from agrifleet.ext._turns_base cimport (TWO_PI, INV_TWO_PI, TurnPath, TURN_OK, TURN_BAD_INPUT, TURN_NO_PATH,
                                        clear_path, finite_input, fast_sincos, fast_atan2)

cdef extern from *:
    """
    #define TURNS_DUBINS_EPS 1e-6
    #define TURNS_DUBINS_ZERO (-1e-7)
    #define TURNS_LB_SLACK 2e-6
    """
    const double DUBINS_EPS "TURNS_DUBINS_EPS"     # OMPL: coincident poses; snapping of angles near 2 pi
    const double DUBINS_ZERO "TURNS_DUBINS_ZERO"   # OMPL: values this close below 0 count as 0
    const double LB_SLACK "TURNS_LB_SLACK"         # what the arc bounds give away to OMPL's snapping


cdef inline double _dmod(double x) noexcept nogil:
    """Angle in [0, 2 pi): OMPL's ``x - 2 pi floor(x / 2 pi)``; rounding noise around 0 and 2 pi snaps to 0."""
    cdef double xm
    if x < 0.0 and x > DUBINS_ZERO:
        return 0.0
    if -50.0 < x < 50.0:        # floor by truncating x / 2 pi + 8 > 0: no call to floor (no SSE4.1)
        xm = x - TWO_PI * (<double>(<long>(x * INV_TWO_PI + 8.0)) - 8.0)
        if xm < 0.0:            # + 8 rounded x / 2 pi up to the next integer
            xm += TWO_PI
    else:
        xm = x - TWO_PI * floor(x / TWO_PI)
    if TWO_PI - xm < 0.5 * DUBINS_EPS:
        xm = 0.0
    return xm


cdef inline double _turn_bound(double m) noexcept nogil:
    """A lower bound of a turn that OMPL's snapped angles make equal to ``m`` in [0, 2 pi) modulo 2 pi."""
    return m - LB_SLACK if LB_SLACK < m < TWO_PI - LB_SLACK else 0.0


cdef inline double _loop(double m, double c0, double s0, double c1, double s1, double vx, double vy,
                         double p) noexcept nogil:
    """2 pi if the arcs of LSL (headings 0, 1; straight along v, |v| = p) clearly make a full extra turn.

    The arcs turn t = angle(v) - h0 and q = h1 - angle(v), both counter-clockwise in [0, 2 pi): their sum is
    m = h1 - h0 modulo 2 pi when the straight's direction lies on the counter-clockwise arc from h0 to h1,
    and m + 2 pi otherwise. Decided with cross products; 0 (no claim) when either arc is within ~1e-6 of
    0 or 2 pi, where OMPL snaps. RSR is LSL mirrored (negated sines and y).
    """
    cdef double tol = 1e-6 * p, a0 = c0 * vy - s0 * vx, a1 = vx * s1 - vy * c1   # p sin t, p sin q
    if (fabs(a0) < tol and c0 * vx + s0 * vy > 0.0) or (fabs(a1) < tol and c1 * vx + s1 * vy > 0.0):
        return 0.0
    if m <= M_PI:
        return TWO_PI if a0 < 0.0 or a1 < 0.0 else 0.0
    return TWO_PI if a0 < 0.0 and a1 < 0.0 else 0.0


cdef inline void _take(TurnPath* best, int word, double t, double p, double q) noexcept nogil:
    cdef double length = t + p + q
    if length < best.length:
        best.length = length
        best.word = word
        best.seg[0] = t
        best.seg[1] = p
        best.seg[2] = q


cdef void _dubins_unit(double d, double alpha, double beta, TurnPath* best) noexcept nogil:
    """OMPL's search: from (0, 0, alpha) to (d, 0, beta) at radius 1, the six words in OMPL's order."""
    cdef double ca = cos(alpha), sa = sin(alpha), cb = cos(beta), sb = sin(beta), cab, tmp, p, theta, t
    clear_path(best)
    if d < DUBINS_EPS and fabs(alpha - beta) < DUBINS_EPS:
        _take(best, W_LSL, 0.0, d, 0.0)
        return
    cab = ca * cb + sa * sb
    tmp = 2.0 + d * d - 2.0 * (cab - d * (sa - sb))
    if tmp >= DUBINS_ZERO:                                                           # LSL
        p = sqrt(tmp) if tmp > 0.0 else 0.0
        theta = atan2(cb - ca, d + sa - sb)
        _take(best, W_LSL, _dmod(-alpha + theta), p, _dmod(beta - theta))
    tmp = 2.0 + d * d - 2.0 * (cab - d * (sb - sa))
    if tmp >= DUBINS_ZERO:                                                           # RSR
        p = sqrt(tmp) if tmp > 0.0 else 0.0
        theta = atan2(ca - cb, d - sa + sb)
        _take(best, W_RSR, _dmod(alpha - theta), p, _dmod(-beta + theta))
    tmp = d * d - 2.0 + 2.0 * (cab - d * (sa + sb))
    if tmp >= DUBINS_ZERO:                                                           # RSL
        p = sqrt(tmp) if tmp > 0.0 else 0.0
        theta = atan2(ca + cb, d - sa - sb) - atan2(2.0, p)
        _take(best, W_RSL, _dmod(alpha - theta), p, _dmod(beta - theta))
    tmp = -2.0 + d * d + 2.0 * (cab + d * (sa + sb))
    if tmp >= DUBINS_ZERO:                                                           # LSR
        p = sqrt(tmp) if tmp > 0.0 else 0.0
        theta = atan2(-ca - cb, d + sa + sb) - atan2(-2.0, p)
        _take(best, W_LSR, _dmod(-alpha + theta), p, _dmod(-beta + theta))
    tmp = 0.125 * (6.0 - d * d + 2.0 * (cab + d * (sa - sb)))
    if fabs(tmp) < 1.0:                                                              # RLR
        p = TWO_PI - acos(tmp)
        t = _dmod(alpha - atan2(ca - cb, d - sa + sb) + 0.5 * p)
        _take(best, W_RLR, t, p, _dmod(alpha - beta - t + p))
    tmp = 0.125 * (6.0 - d * d + 2.0 * (cab - d * (sa - sb)))
    if fabs(tmp) < 1.0:                                                              # LRL
        p = TWO_PI - acos(tmp)
        t = _dmod(-alpha + atan2(-ca + cb, d + sa - sb) + 0.5 * p)
        _take(best, W_LRL, t, p, _dmod(beta - alpha - t + p))


cdef bint _dubins_fast(double x, double y, double h0, double h1, TurnPath* best) noexcept nogil:
    """``_dubins_unit`` for goal (x, y) in radii from the start, away from OMPL's thresholds; else False.

    With the circle centres (left (-sin h, cos h), right (sin h, -cos h) from each pose) instead of OMPL's
    alpha = h0 - th, beta = h1 - th (th the goal direction), no atan2 of th and no reduction of alpha and
    beta is needed. Each word gets a lower bound: its straight p (the centre distance, or the inner tangent)
    plus what its arcs must turn (their sum, or difference, is h1 - h0 modulo 2 pi); pi for a CCC word (its
    middle arc exceeds pi). Words are evaluated with OMPL's formulas (rotated into this frame) in the order
    of their bounds until no bound beats the best length, ties in OMPL's order. Returns False (the caller
    runs ``_dubins_unit``) when the poses are closer than 1e-3 radii, a heading is within 1e-6 of the goal
    direction (OMPL would snap alpha or beta), a straight is ~0 (its direction is noise), an inner tangent
    barely exists, or a CCC word is at the edge of existing.
    """
    cdef double d2 = x * x + y * y, d, s0, c0, s1, c1, m, diff, theta, t, pp
    cdef double lx, ly, rx, ry, rlx, rly, lrx, lry, l2, r2, rl2, lr2, pl, pr, prl = 0.0, plr = 0.0
    cdef double lb[6]           # in OMPL's order: LSL, RSR, RSL, LSR, RLR, LRL
    cdef int i, k
    if d2 < 1e-6:
        return False
    fast_sincos(h0, &s0, &c0)
    fast_sincos(h1, &s1, &c1)
    d = 1e-6 * sqrt(d2)
    if (fabs(x * s0 - y * c0) < d and x * c0 + y * s0 > 0.0) or \
            (fabs(x * s1 - y * c1) < d and x * c1 + y * s1 > 0.0):
        return False
    lx = x - s1 + s0                 # left centre to left centre (LSL, LRL)
    ly = y + c1 - c0
    rx = x + s1 - s0                 # right to right (RSR, RLR)
    ry = y - c1 + c0
    rlx = x - s1 - s0                # right to left (RSL)
    rly = y + c1 + c0
    lrx = x + s1 + s0                # left to right (LSR)
    lry = y - c1 - c0
    l2 = lx * lx + ly * ly
    r2 = rx * rx + ry * ry
    rl2 = rlx * rlx + rly * rly
    lr2 = lrx * lrx + lry * lry
    if l2 < 1e-10 or r2 < 1e-10 or fabs(rl2 - 4.0) < 1e-6 or fabs(lr2 - 4.0) < 1e-6 \
            or fabs(l2 - 16.0) < 1e-6 or fabs(r2 - 16.0) < 1e-6:
        return False
    m = _dmod(h1 - h0)
    diff = min(m, TWO_PI - m) - LB_SLACK
    diff = diff if diff > 0.0 else 0.0
    pl = sqrt(l2)
    pr = sqrt(r2)
    lb[0] = pl + _turn_bound(m) + _loop(m, c0, s0, c1, s1, lx, ly, pl)
    m = TWO_PI - m if m > 0.0 else 0.0                 # the right turn from h0 to h1
    lb[1] = pr + _turn_bound(m) + _loop(m, c0, -s0, c1, -s1, rx, -ry, pr)
    lb[2] = INFINITY
    lb[3] = INFINITY
    if rl2 > 4.0:
        prl = sqrt(rl2 - 4.0)
        lb[2] = prl + diff
    if lr2 > 4.0:
        plr = sqrt(lr2 - 4.0)
        lb[3] = plr + diff
    lb[4] = M_PI if r2 < 16.0 else INFINITY          # CCC: OMPL's test value is 1 - |centre line|^2 / 8
    lb[5] = M_PI if l2 < 16.0 else INFINITY
    clear_path(best)
    while True:
        k = 0
        for i in range(1, 6):
            if lb[i] < lb[k]:
                k = i
        if lb[k] >= best.length:
            return True
        lb[k] = INFINITY
        if k == 0:
            theta = fast_atan2(ly, lx)
            _take(best, W_LSL, _dmod(theta - h0), pl, _dmod(h1 - theta))
        elif k == 1:
            theta = fast_atan2(ry, rx)
            _take(best, W_RSR, _dmod(h0 - theta), pr, _dmod(theta - h1))
        elif k == 2:        # the straight leaves R0 and touches L1: the centre line turned by -atan2(2, p)
            theta = fast_atan2(rly * prl - 2.0 * rlx, rlx * prl + 2.0 * rly)
            _take(best, W_RSL, _dmod(h0 - theta), prl, _dmod(h1 - theta))
        elif k == 3:        # ... by +atan2(2, p)
            theta = fast_atan2(lry * plr + 2.0 * lrx, lrx * plr - 2.0 * lry)
            _take(best, W_LSR, _dmod(theta - h0), plr, _dmod(theta - h1))
        elif k == 4:
            pp = TWO_PI - acos(1.0 - 0.125 * r2)
            if pp < best.length:
                t = _dmod(h0 - fast_atan2(ry, rx) + 0.5 * pp)
                _take(best, W_RLR, t, pp, _dmod(h0 - h1 - t + pp))
        else:
            pp = TWO_PI - acos(1.0 - 0.125 * l2)
            if pp < best.length:
                t = _dmod(fast_atan2(ly, lx) - h0 + 0.5 * pp)
                _take(best, W_LRL, t, pp, _dmod(h1 - h0 - t + pp))


cdef int _dubins_scalar(double x0, double y0, double h0, double x1, double y1, double h1, double radius_m,
                        TurnPath* out) noexcept nogil:
    """The scalar search: fast path, else OMPL's (lengths of ``out`` in radii)."""
    cdef double dx, dy, th
    if not finite_input(x0, y0, h0, x1, y1, h1, radius_m):
        return TURN_BAD_INPUT
    dx = x1 - x0
    dy = y1 - y0
    if not _dubins_fast(dx / radius_m, dy / radius_m, h0, h1, out):
        th = atan2(dy, dx)
        _dubins_unit(sqrt(dx * dx + dy * dy) / radius_m, _dmod(h0 - th), _dmod(h1 - th), out)
    return TURN_OK if out.word >= 0 else TURN_NO_PATH


# --- four pairs at a time ----------------------------------------------------------------------------------
# On a CPU with AVX2 and FMA, pairs go four at a time through ``turns_dubins_x4`` (``_turns_simd.h``): every
# word of every pair evaluated across the lanes. A pair it leaves (near one of OMPL's thresholds, bad input)
# gets the scalar search. One pair alone goes through the same lanes, so single and batch answers are the
# same bits. AGRIFLEET_SIMD=0 (or a CPU without AVX2) runs the scalar search only.
cdef extern from "_turns_simd.h" nogil:
    int turns_simd_detect()
    int turns_dubins_x4(const double* q0, const double* q1, int n, double radius, double* length, int* word,
                        double* seg)

cdef bint _SIMD_CPU = turns_simd_detect() != 0
cdef bint _simd = _SIMD_CPU and os.environ.get("AGRIFLEET_SIMD", "1") != "0"


cdef bint use_simd(int flag) noexcept nogil:
    """Whether blocks run on the SIMD lanes; ``flag`` 0 or 1 switches (when the CPU can), -1 only asks."""
    global _simd
    if flag >= 0:
        _simd = _SIMD_CPU and flag == 1
    return _simd


cdef void dubins_block(const double* q0, const double* q1, int n, double radius_m, TurnPath* out,
                       int* status) noexcept nogil:
    """Pairs ``0 .. n-1`` (``n`` <= 4; poses at ``q0 + 3 i``, ``q1 + 3 i``): ``out[i]``, ``status[i]``."""
    cdef double length[4]
    cdef double seg[12]
    cdef int word[4]
    cdef int i, scalar
    if _simd and isfinite(radius_m) and radius_m > 0.0:
        scalar = turns_dubins_x4(q0, q1, n, radius_m, length, word, seg)
    else:
        scalar = (1 << n) - 1
    for i in range(n):
        if (scalar >> i) & 1:
            status[i] = _dubins_scalar(q0[3 * i], q0[3 * i + 1], q0[3 * i + 2], q1[3 * i], q1[3 * i + 1],
                                       q1[3 * i + 2], radius_m, &out[i])
        else:
            out[i].length = length[i]
            out[i].word = word[i]
            out[i].seg[0] = seg[3 * i]
            out[i].seg[1] = seg[3 * i + 1]
            out[i].seg[2] = seg[3 * i + 2]
            out[i].seg[3] = 0.0
            out[i].seg[4] = 0.0
            status[i] = TURN_OK


cdef int dubins_pair(double x0, double y0, double h0, double x1, double y1, double h1, double radius_m,
                     TurnPath* out) noexcept nogil:
    """Shortest forward-only path between two poses (lengths of ``out`` in radii)."""
    cdef double a[3]
    cdef double b[3]
    cdef int status
    a[0], a[1], a[2] = x0, y0, h0
    b[0], b[1], b[2] = x1, y1, h1
    dubins_block(a, b, 1, radius_m, out, &status)
    return status
