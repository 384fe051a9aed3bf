# cython: language_level=3
"""Shortest Reeds-Shepp path (reversing allowed) between two poses: OMPL's answer, faster.

Formula numbers are those of Reeds & Shepp (1990), section 8: each gives the segment lengths (t, u, v) of
one family from (0, 0, 0) to (x, y, phi) at radius 1, or fails. The other families follow from symmetries:
timeflip (-x, y, -phi; every length negated), reflect (x, -y, -phi; L and R swapped: the next word of the
table) and backwards (the goal seen from the end; segments in reverse order). This is the candidate set of
OMPL's ``ReedsSheppStateSpace`` (44 evaluations covering the 48 words), so that lengths agree with it, with
one tolerance loosened: OMPL accepts a segment angle >= -10 eps, an absolute tolerance, so for a goal almost
straight ahead at a short distance the rounding noise of its lateral offset divided by the distance decides
whether the straight is found (two OMPL-faithful implementations then differ by a whole manoeuvre). We accept
angles >= -1e-10: never a longer answer than OMPL's, and a robust one there. Such a tiny negative arc is a
valid piece of the path; the sampler treats it as a point.

``_reeds_shepp_unit`` bounds every candidate from below first and evaluates the formulas only for those
that can still win. Reference: ``_turns_ref.py``.
"""
import os

from libc.math cimport asin, acos, sqrt, fabs, fmod, copysign, INFINITY, M_PI

from agrifleet.ext._turns_base cimport (TWO_PI, HALF_PI, TurnPath, TURN_OK, TURN_BAD_INPUT, TURN_NO_PATH,
                                        clear_path, finite_input, fast_sincos, fast_atan2)

cdef extern from *:
    """
    #define TURNS_RS_ZERO 1e-10
    """
    const double RS_ZERO "TURNS_RS_ZERO"


cdef inline double _rmod(double x) noexcept nogil:
    """Angle in [-pi, pi], bit for bit OMPL's ``mod2pi`` (fmod, then a shift); no fmod when |x| < 6 pi."""
    cdef double ax = fabs(x), v
    if ax < TWO_PI:
        v = x
    elif ax < 2.0 * TWO_PI:
        v = copysign(ax - TWO_PI, x)          # exact (Sterbenz), as fmod is
    elif ax < 3.0 * TWO_PI:
        v = copysign(ax - 2.0 * TWO_PI, x)    # exact as well
    else:
        v = fmod(x, TWO_PI)
    if v < -M_PI:
        v += TWO_PI
    elif v > M_PI:
        v -= TWO_PI
    return v


cdef inline double _unit_turn(double a) noexcept nogil:
    """``a`` modulo 2 pi in [0, 2 pi) as a lower bound: 0 when within 1e-9 of 0 or 2 pi."""
    cdef double m = _rmod(a)
    if m < 0.0:
        m += TWO_PI
    return m if 1e-9 < m < TWO_PI - 1e-9 else 0.0


cdef inline void _rs_take(TurnPath* best, int word, double a, double b, double c, double d,
                          double e) noexcept nogil:
    cdef double length = fabs(a) + fabs(b) + fabs(c) + fabs(d) + fabs(e)
    if length < best.length:
        best.length = length
        best.word = word
        best.seg[0] = a
        best.seg[1] = b
        best.seg[2] = c
        best.seg[3] = d
        best.seg[4] = e


cdef inline bint _lp_sp_lp(double x, double y, double phi, double s, double c, double* t, double* u,
                           double* v) noexcept nogil:                                        # 8.1
    cdef double xi = x - s, eta = y - 1.0 + c
    u[0] = sqrt(xi * xi + eta * eta)
    t[0] = fast_atan2(eta, xi)
    if t[0] >= -RS_ZERO:
        v[0] = _rmod(phi - t[0])
        return v[0] >= -RS_ZERO
    return False


cdef inline bint _lp_sp_rp(double x, double y, double phi, double s, double c, double* t, double* u,
                           double* v) noexcept nogil:                                        # 8.2
    cdef double xi = x + s, eta = y - 1.0 - c, u1 = sqrt(xi * xi + eta * eta)
    u1 = u1 * u1                               # as OMPL: the threshold test sees the same rounding
    if u1 < 4.0:
        return False
    u[0] = sqrt(u1 - 4.0)
    t[0] = _rmod(fast_atan2(2.0 * xi + u[0] * eta, u[0] * xi - 2.0 * eta))   # angle(xi, eta) + atan2(2, u)
    v[0] = _rmod(t[0] - phi)
    return t[0] >= -RS_ZERO and v[0] >= -RS_ZERO


cdef inline bint _lp_rm_l(double x, double y, double phi, double s, double c, double* t, double* u,
                          double* v) noexcept nogil:                                         # 8.3 / 8.4
    cdef double xi = x - s, eta = y - 1.0 + c, u1 = sqrt(xi * xi + eta * eta)
    if u1 > 4.0:
        return False
    u[0] = -2.0 * asin(0.25 * u1)
    t[0] = _rmod(fast_atan2(eta, xi) + 0.5 * u[0] + M_PI)
    v[0] = _rmod(phi - t[0] + u[0])
    return t[0] >= -RS_ZERO and u[0] <= RS_ZERO


cdef inline void _tau_omega(double u, double v, double xi, double eta, double phi, double* tau,
                            double* omega) noexcept nogil:
    cdef double delta = _rmod(u - v), su, cu, sd, cd, sv, cv
    fast_sincos(u, &su, &cu)
    fast_sincos(delta, &sd, &cd)
    fast_sincos(v, &sv, &cv)
    cdef double a = su - sd, b = cu - cd - 1.0
    cdef double t1 = fast_atan2(eta * a - xi * b, xi * a + eta * b)
    cdef double t2 = 2.0 * (cd - cv - cu) + 3.0
    tau[0] = _rmod(t1 + M_PI) if t2 < 0.0 else _rmod(t1)
    omega[0] = _rmod(tau[0] - u + v - phi)


cdef inline bint _lp_rup_lum_rm(double x, double y, double phi, double s, double c, double* t, double* u,
                                double* v) noexcept nogil:                                   # 8.7
    cdef double xi = x + s, eta = y - 1.0 - c, rho = 0.25 * (2.0 + sqrt(xi * xi + eta * eta))
    if rho > 1.0:
        return False
    u[0] = acos(rho)
    _tau_omega(u[0], -u[0], xi, eta, phi, t, v)
    return t[0] >= -RS_ZERO and v[0] <= RS_ZERO


cdef inline bint _lp_rum_lum_rp(double x, double y, double phi, double s, double c, double* t, double* u,
                                double* v) noexcept nogil:                                   # 8.8
    cdef double xi = x + s, eta = y - 1.0 - c, rho = (20.0 - xi * xi - eta * eta) / 16.0
    if not (0.0 <= rho <= 1.0):
        return False
    u[0] = -acos(rho)
    if u[0] < -HALF_PI:
        return False
    _tau_omega(u[0], u[0], xi, eta, phi, t, v)
    return t[0] >= -RS_ZERO and v[0] >= -RS_ZERO


cdef inline bint _lp_rm_sm_lm(double x, double y, double phi, double s, double c, double* t, double* u,
                              double* v) noexcept nogil:                                     # 8.9
    cdef double xi = x - s, eta = y - 1.0 + c, rho = sqrt(xi * xi + eta * eta), r
    if rho < 2.0:
        return False
    r = sqrt(rho * rho - 4.0)
    u[0] = 2.0 - r
    t[0] = _rmod(fast_atan2(r * xi - 2.0 * eta, -2.0 * xi - r * eta))     # angle(xi, eta) + atan2(r, -2)
    v[0] = _rmod(phi - HALF_PI - t[0])
    return t[0] >= -RS_ZERO and u[0] <= RS_ZERO and v[0] <= RS_ZERO


cdef inline bint _lp_rm_sm_rm(double x, double y, double phi, double s, double c, double* t, double* u,
                              double* v) noexcept nogil:                                     # 8.10
    cdef double xi = x + s, eta = y - 1.0 - c, rho = sqrt(xi * xi + eta * eta)
    if rho < 2.0:
        return False
    t[0] = fast_atan2(xi, -eta)
    u[0] = 2.0 - rho
    v[0] = _rmod(t[0] + HALF_PI - phi)
    return t[0] >= -RS_ZERO and u[0] <= RS_ZERO and v[0] <= RS_ZERO


cdef inline bint _lp_rm_s_lm_rp(double x, double y, double phi, double s, double c, double* t, double* u,
                                double* v) noexcept nogil:                                   # 8.11
    cdef double xi = x + s, eta = y - 1.0 - c, rho = sqrt(xi * xi + eta * eta)
    if rho < 2.0:
        return False
    u[0] = 4.0 - sqrt(rho * rho - 4.0)
    if u[0] > RS_ZERO:
        return False
    t[0] = _rmod(fast_atan2((4.0 - u[0]) * xi - 2.0 * eta, -2.0 * xi + (u[0] - 4.0) * eta))
    v[0] = _rmod(t[0] - phi)
    return t[0] >= -RS_ZERO and v[0] >= -RS_ZERO


ctypedef bint (*rs_formula)(double, double, double, double, double, double*, double*, double*) noexcept nogil

# The 11 families in OMPL's order: formula, goal seen backwards, word (its reflection is word + 1), and how
# (t, u, v) become the five segments. Each family is tried under the four symmetries below.
cdef enum Assembly:
    A_TUV = 0        # t, u, v
    A_VUT = 1        # v, u, t
    A_TU_MU_V = 2    # t, u, -u, v
    A_TUUV = 3       # t, u, u, v
    A_T_H_UV = 4     # t, -pi/2, u, v
    A_VU_H_T = 5     # v, u, -pi/2, t
    A_T_H_U_H_V = 6  # t, -pi/2, u, -pi/2, v

cdef rs_formula _FORMULA[11]
cdef bint _BACKWARDS[11]
cdef int _WORD[11]
cdef int _ASSEMBLY[11]
_FORMULA[:] = [_lp_sp_lp, _lp_sp_rp, _lp_rm_l, _lp_rm_l, _lp_rup_lum_rm, _lp_rum_lum_rp, _lp_rm_sm_lm,
               _lp_rm_sm_rm, _lp_rm_sm_lm, _lp_rm_sm_rm, _lp_rm_s_lm_rp]
_BACKWARDS[:] = [False, False, False, True, False, False, False, False, True, True, False]
_WORD[:] = [14, 12, 0, 0, 2, 2, 4, 8, 6, 10, 16]
_ASSEMBLY[:] = [A_TUV, A_TUV, A_TUV, A_VUT, A_TU_MU_V, A_TUUV, A_T_H_UV, A_T_H_UV, A_VU_H_T, A_VU_H_T,
                A_T_H_U_H_V]
# Symmetries: identity, timeflip, reflect, timeflip + reflect (sign of x, y, phi; lengths; word offset).
cdef double _SX[4]
cdef double _SY[4]
cdef double _SPHI[4]
_SX[:] = [1.0, -1.0, 1.0, -1.0]
_SY[:] = [1.0, 1.0, -1.0, -1.0]
_SPHI[:] = [1.0, -1.0, -1.0, 1.0]


cdef void _rs_candidate(int k, double x, double y, double phi, double s, double c, double xb, double yb,
                        TurnPath* best) noexcept nogil:
    """Evaluate candidate ``k`` = 4 * family + symmetry with OMPL's formula."""
    cdef int f = k >> 2, sym = k & 3
    cdef double t, u, v, sp = _SPHI[sym]
    cdef double gx = xb if _BACKWARDS[f] else x, gy = yb if _BACKWARDS[f] else y
    if _FORMULA[f](_SX[sym] * gx, _SY[sym] * gy, sp * phi, sp * s, c, &t, &u, &v):
        _rs_assemble(f, sym, t, u, v, best)


cdef void _rs_assemble(int f, int sym, double t, double u, double v, TurnPath* best) noexcept nogil:
    """Candidate ``4 f + sym`` from its formula's (t, u, v): the symmetry's signs, the family's segments."""
    cdef double g = _SX[sym]          # timeflip negates the lengths as it negates x
    t *= g
    u *= g
    v *= g
    cdef double h = -HALF_PI * g
    cdef int a = _ASSEMBLY[f]
    if a == A_TUV:
        _rs_take(best, _WORD[f] + (sym >> 1), t, u, v, 0.0, 0.0)
    elif a == A_VUT:
        _rs_take(best, _WORD[f] + (sym >> 1), v, u, t, 0.0, 0.0)
    elif a == A_TU_MU_V:
        _rs_take(best, _WORD[f] + (sym >> 1), t, u, -u, v, 0.0)
    elif a == A_TUUV:
        _rs_take(best, _WORD[f] + (sym >> 1), t, u, u, v, 0.0)
    elif a == A_T_H_UV:
        _rs_take(best, _WORD[f] + (sym >> 1), t, h, u, v, 0.0)
    elif a == A_VU_H_T:
        _rs_take(best, _WORD[f] + (sym >> 1), v, u, h, t, 0.0)
    else:
        _rs_take(best, _WORD[f] + (sym >> 1), t, h, u, h, v)


cdef inline bint _maybe(double v, double scale) noexcept nogil:
    """``v >= 0`` unless clearly negative (``scale``: the squared size of the vector ``v`` belongs to). A
    pre-test may keep a borderline candidate, never drop one OMPL's formula accepts (margins >> RS_ZERO)."""
    return v >= -1e-9 * (scale + 1.0)


cdef inline int _push(double* lbs, int* ks, int n, int k, double lb) noexcept nogil:
    """Append candidate ``k`` with its bound, less room for rounding (a bound must not exceed the length)."""
    lbs[n] = lb - 1e-7
    ks[n] = k
    return n + 1


# --- the four symmetries of a family at once --------------------------------------------------------------
# On a CPU with AVX2 and FMA (``_turns_simd.h``), the lanes of a vector are the four symmetries of one pair:
# all 44 bounds come from one vectorised pass, and a family's formula runs for its four candidates at once.
# Families are evaluated in the order of their best bound while that bound can beat the best length, their
# candidates in OMPL's order. Single calls and batches both come through here, so they agree bit for bit.
cdef extern from "_turns_simd.h" nogil:
    int turns_simd_detect()
    void turns_rs_bounds(double x, double y, double phi, double s, double c, double xb, double yb,
                         double lb[11][4])
    int turns_rs_family(int f, double x, double y, double phi, double s, double c, double xb, double yb,
                        double* t, double* u, double* v)

cdef bint _SIMD_CPU = turns_simd_detect() != 0
cdef bint _simd = _SIMD_CPU and os.environ.get("AGRIFLEET_SIMD", "1") != "0"


cdef bint rs_use_simd(int flag) noexcept nogil:
    """Whether pairs run on the SIMD lanes; ``flag`` 0 or 1 switches (when the CPU can), -1 only asks."""
    global _simd
    if flag >= 0:
        _simd = _SIMD_CPU and flag == 1
    return _simd


cdef void _reeds_shepp_lanes(double x, double y, double phi, TurnPath* best) noexcept nogil:
    """``_reeds_shepp_unit`` with the symmetries of a family on the SIMD lanes (|phi| < 4 pi)."""
    cdef double s, c, xb, yb, low
    cdef double lb[11][4]
    cdef double fmin[11]
    cdef double t[4]
    cdef double u[4]
    cdef double v[4]
    cdef int f, k, sym, mask
    clear_path(best)
    fast_sincos(phi, &s, &c)
    xb = x * c + y * s
    yb = x * s - y * c
    turns_rs_bounds(x, y, phi, s, c, xb, yb, lb)
    for f in range(11):
        fmin[f] = min(min(lb[f][0], lb[f][1]), min(lb[f][2], lb[f][3]))
    while True:
        k = 0
        for f in range(1, 11):
            if fmin[f] < fmin[k]:
                k = f
        low = fmin[k]
        if not low < best.length:
            return
        fmin[k] = INFINITY
        mask = turns_rs_family(k, x, y, phi, s, c, xb, yb, t, u, v)
        for sym in range(4):
            if (mask >> sym) & 1:
                _rs_assemble(k, sym, t[sym], u[sym], v[sym], best)


cdef void _reeds_shepp_unit(double x, double y, double phi, TurnPath* best) noexcept nogil:
    """Shortest Reeds-Shepp word from (0, 0, 0) to (x, y, phi), radius 1.

    Each of the 44 candidates (11 families x 4 symmetries) is first bounded from below and pre-tested with
    square roots and products only: the straight of its family (half the chord for C|C|C) plus the least its
    free arcs can turn given the heading change they must make, plus its fixed quarter arcs (CCSC, CCSCC);
    for the families with a straight also the signs their arcs must have, read off the vector whose angle
    OMPL's formula takes. The candidate with the smallest bound is evaluated first, then the others while
    their bound can beat the best length: OMPL's answer (ties aside) with about five formula evaluations.
    """
    cdef double s, c, xb, yb, gx, gy, sp, ss, xi, eta, n2, w, u, cx, cy, turn, unit, quarter
    cdef double lbs[44]
    cdef int ks[44]
    cdef int sym, b, n = 0, j, k
    clear_path(best)
    fast_sincos(phi, &s, &c)
    xb = x * c + y * s
    yb = x * s - y * c
    turn = fabs(_rmod(phi))
    for sym in range(4):            # identity, timeflip, reflect, timeflip + reflect
        sp = _SPHI[sym]                                 # the symmetric goal heading is sp * phi
        ss = sp * s                                     # its sine; its cosine is c
        # What the free arcs must turn: t + v = phi mod 2 pi for 8.1, |t| + |v| >= |phi - pi/2| for 8.9/10.
        unit = _unit_turn(sp * phi)
        quarter = fabs(_rmod(sp * phi - HALF_PI))
        for b in range(2):          # goal seen forwards, backwards
            gx = (xb if b else x) * _SX[sym]
            gy = (yb if b else y) * _SY[sym]
            # Families with the centre term (x - sin phi, y - 1 + cos phi): 8.1, 8.3, 8.9.
            xi = gx - ss
            eta = gy - 1.0 + c
            n2 = xi * xi + eta * eta
            if b == 0 and _maybe(eta, n2) and _maybe(ss * xi - c * eta, n2):        # 8.1 L+ S+ L+
                n = _push(lbs, ks, n, sym, sqrt(n2) + unit)
            if n2 <= 16.0 + 1e-9:                                                   # 8.3 C C C
                # |u| = 2 asin(r / 4) >= r / 2 + r^3 / 192 =: a, and t + |u| + v = phi mod 2 pi, so the
                # length is at least |u| + |phi - |u|| (mod 2 pi), which grows with |u|: take it at a.
                w = sqrt(n2)
                w = 0.5 * w + w * n2 * (1.0 / 192.0)
                n = _push(lbs, ks, n, 8 + 4 * b + sym, w + fabs(_rmod(sp * phi - w)))
            if n2 >= 4.0 - 1e-9:                                                    # 8.9 L+ R- S- L-
                w = sqrt(max(n2 - 4.0, 0.0))
                cx = -2.0 * xi - w * eta                                            # t = angle(cx, cy)
                cy = w * xi - 2.0 * eta
                if 2.0 - w <= 1e-9 and _maybe(cy, n2) and _maybe(c * cx + ss * cy, n2):
                    n = _push(lbs, ks, n, 24 + 8 * b + sym, w - 2.0 + HALF_PI + quarter)
            # Families with the centre term (x + sin phi, y - 1 - cos phi): 8.2, 8.7, 8.8, 8.10, 8.11.
            xi = gx + ss
            eta = gy - 1.0 - c
            n2 = xi * xi + eta * eta
            if n2 >= 4.0 - 1e-9 and _maybe(xi, n2) and _maybe(c * eta - ss * xi, n2):
                n = _push(lbs, ks, n, 28 + 8 * b + sym, sqrt(n2) - 2.0 + HALF_PI + quarter)    # 8.10
            if b == 1:
                continue
            if n2 >= 4.0 - 1e-9:
                w = sqrt(max(n2 - 4.0, 0.0))
                cx = w * xi - 2.0 * eta                                             # 8.2 L+ S+ R+
                cy = 2.0 * xi + w * eta
                if _maybe(cy, n2) and _maybe(cy * c - cx * ss, n2):
                    n = _push(lbs, ks, n, 4 + sym, w + turn)
                u = 4.0 - w                                                         # 8.11 L+ R- S- L- R+
                cx = -2.0 * xi - w * eta
                cy = w * xi - 2.0 * eta
                if u <= 1e-9 and _maybe(cy, n2) and _maybe(cy * c - cx * ss, n2):
                    n = _push(lbs, ks, n, 40 + sym, -u + M_PI + turn)
            # C C C C: the two middle arcs are |u| = acos(rho) >= sqrt(2 (1 - rho)) each.
            if n2 <= 4.0 + 1e-9:                                                    # 8.7
                u = 0.25 * (2.0 + sqrt(n2))
                n = _push(lbs, ks, n, 16 + sym, max(turn, 2.0 * sqrt(max(2.0 - 2.0 * u, 0.0))))
            if -1e-9 <= 20.0 - n2 <= 16.0 + 1e-9:                                   # 8.8, t - v = phi
                u = (20.0 - n2) / 16.0
                n = _push(lbs, ks, n, 20 + sym, turn + 2.0 * sqrt(max(2.0 - 2.0 * u, 0.0)))
    if n == 0:
        return
    k = 0
    for j in range(1, n):
        if lbs[j] < lbs[k]:
            k = j
    _rs_candidate(ks[k], x, y, phi, s, c, xb, yb, best)
    lbs[k] = INFINITY
    for j in range(n):
        if lbs[j] < best.length:
            _rs_candidate(ks[j], x, y, phi, s, c, xb, yb, best)


cdef int reeds_shepp_pair(double x0, double y0, double h0, double x1, double y1, double h1, double radius_m,
                          TurnPath* out) noexcept nogil:
    """Shortest path with reversing allowed between two poses (lengths of ``out`` in radii)."""
    cdef double dx, dy, c, s
    if not finite_input(x0, y0, h0, x1, y1, h1, radius_m):
        return TURN_BAD_INPUT
    dx = x1 - x0
    dy = y1 - y0
    fast_sincos(h0, &s, &c)
    if _simd and fabs(h1 - h0) < 4.0 * M_PI:
        _reeds_shepp_lanes((c * dx + s * dy) / radius_m, (-s * dx + c * dy) / radius_m, h1 - h0, out)
    else:
        _reeds_shepp_unit((c * dx + s * dy) / radius_m, (-s * dx + c * dy) / radius_m, h1 - h0, out)
    return TURN_OK if out.word >= 0 else TURN_NO_PATH
