# cython: language_level=3
"""Shortest Dubins and Reeds-Shepp paths between poses, and their sampling into path points.

A pose is ``(x, y, heading)`` in metres and radians, heading counter-clockwise from +x. A path is a word
(segment kinds L, S, R; see ``DUBINS_WORDS`` and ``REEDS_SHEPP_WORDS``) and signed segment lengths in
metres (negative = driven in reverse). The searches work in units of the turning radius with the candidate
words, formulas and tolerances of OMPL's ``DubinsStateSpace`` (non-symmetric distance) and
``ReedsSheppStateSpace``, so that lengths agree with OMPL: Dubins distance is discontinuous, and only the
same tolerances give the same answer next to a discontinuity.

Entry points, for ``dubins`` and ``reeds_shepp`` alike: ``*_shortest`` (batch over (N, 3) arrays), ``*_one``
(one pair from plain sequences, no numpy: the single-call path), ``sample_*`` / ``sample_*_many`` (path
points) and ``*_end``. The ``noexcept nogil`` functions are declared in ``_turns.pxd`` for other kernels. The
reference implementation with the same functions is ``_turns_ref.py``.
"""
import numpy as np
cimport numpy as cnp
from libc.math cimport (atan2, acos, asin, sqrt, sin, cos, floor, ceil, fabs, fmod, copysign, isfinite, NAN,
                        INFINITY, M_PI)

cnp.import_array()

DUBINS_WORDS = ("LSL", "LSR", "RSL", "RSR", "RLR", "LRL")
# Reeds-Shepp word table (the order of OMPL's reedsSheppPathType). The 48 words of Reeds & Shepp are these
# letter sequences with the direction of each segment given by the sign of its length.
REEDS_SHEPP_WORDS = ("LRL", "RLR", "LRLR", "RLRL", "LRSL", "RLSR", "LSRL", "RSLR", "LRSR", "RLSL", "RSRL",
                     "LSLR", "LSR", "RSL", "LSL", "RSR", "LRSLR", "RLSRL")
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
cdef int _RS_SEGS[90]
_SEGMENT_OF = {"L": SEG_LEFT, "S": SEG_STRAIGHT, "R": SEG_RIGHT}
for _w, _word in enumerate(DUBINS_WORDS):
    for _j, _c in enumerate(_word):
        _DUBINS_SEGS[3 * _w + _j] = _SEGMENT_OF[_c]
for _w, _word in enumerate(REEDS_SHEPP_WORDS):
    for _j in range(5):
        _RS_SEGS[5 * _w + _j] = _SEGMENT_OF[_word[_j]] if _j < len(_word) else SEG_NOP


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


# ----------------------------------------------------------------------------------------- Reeds-Shepp search
# Formula numbers are those of Reeds & Shepp (1990), section 8; each one gives the segment lengths (t, u, v)
# of one family from (0, 0, 0) to (x, y, phi) at radius 1, or fails. The other families follow from the
# symmetries: timeflip (-x, y, -phi; every length negated), reflect (x, -y, -phi; L and R swapped) and
# backwards (the goal seen from the end; segments in reverse order). This is the candidate set of OMPL's
# ReedsSheppStateSpace, including its tolerances, so that lengths agree with it.
cdef double RS_ZERO = 10.0 * 2.220446049250313e-16
cdef double HALF_PI = 0.5 * M_PI


cdef inline double _rmod(double x) noexcept nogil:
    """Angle in [-pi, pi], bit for bit OMPL's ``mod2pi`` (fmod, then one shift) without fmod when |x| < 6 pi."""
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
    t[0] = atan2(eta, xi)
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
    t[0] = _rmod(atan2(eta, xi) + atan2(2.0, u[0]))
    v[0] = _rmod(t[0] - phi)
    return t[0] >= -RS_ZERO and v[0] >= -RS_ZERO


cdef inline bint _lp_rm_l(double x, double y, double phi, double s, double c, double* t, double* u,
                          double* v) noexcept nogil:                                         # 8.3 / 8.4
    cdef double xi = x - s, eta = y - 1.0 + c, u1 = sqrt(xi * xi + eta * eta)
    if u1 > 4.0:
        return False
    u[0] = -2.0 * asin(0.25 * u1)
    t[0] = _rmod(atan2(eta, xi) + 0.5 * u[0] + M_PI)
    v[0] = _rmod(phi - t[0] + u[0])
    return t[0] >= -RS_ZERO and u[0] <= RS_ZERO


cdef inline void _tau_omega(double u, double v, double xi, double eta, double phi, double* tau,
                            double* omega) noexcept nogil:
    cdef double delta = _rmod(u - v), a = sin(u) - sin(delta), b = cos(u) - cos(delta) - 1.0
    cdef double t1 = atan2(eta * a - xi * b, xi * a + eta * b)
    cdef double t2 = 2.0 * (cos(delta) - cos(v) - cos(u)) + 3.0
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
    t[0] = _rmod(atan2(eta, xi) + atan2(r, -2.0))
    v[0] = _rmod(phi - HALF_PI - t[0])
    return t[0] >= -RS_ZERO and u[0] <= RS_ZERO and v[0] <= RS_ZERO


cdef inline bint _lp_rm_sm_rm(double x, double y, double phi, double s, double c, double* t, double* u,
                              double* v) noexcept nogil:                                     # 8.10
    cdef double xi = x + s, eta = y - 1.0 - c, rho = sqrt(xi * xi + eta * eta)
    if rho < 2.0:
        return False
    t[0] = atan2(xi, -eta)
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
    t[0] = _rmod(atan2((4.0 - u[0]) * xi - 2.0 * eta, -2.0 * xi + (u[0] - 4.0) * eta))
    v[0] = _rmod(t[0] - phi)
    return t[0] >= -RS_ZERO and v[0] >= -RS_ZERO


cdef void _reeds_shepp_unit(double x, double y, double phi, TurnPath* best) noexcept nogil:
    """Shortest Reeds-Shepp word from (0, 0, 0) to (x, y, phi), radius 1; candidates in OMPL's order."""
    cdef double t, u, v, s = sin(phi), c = cos(phi)
    cdef double xb = x * c + y * s, yb = x * s - y * c
    best.length = INFINITY
    best.word = -1
    best.seg[0] = best.seg[1] = best.seg[2] = best.seg[3] = best.seg[4] = 0.0
    # CSC
    if _lp_sp_lp(x, y, phi, s, c, &t, &u, &v):
        _rs_take(best, 14, t, u, v, 0.0, 0.0)
    if _lp_sp_lp(-x, y, -phi, -s, c, &t, &u, &v):
        _rs_take(best, 14, -t, -u, -v, 0.0, 0.0)
    if _lp_sp_lp(x, -y, -phi, -s, c, &t, &u, &v):
        _rs_take(best, 15, t, u, v, 0.0, 0.0)
    if _lp_sp_lp(-x, -y, phi, s, c, &t, &u, &v):
        _rs_take(best, 15, -t, -u, -v, 0.0, 0.0)
    if _lp_sp_rp(x, y, phi, s, c, &t, &u, &v):
        _rs_take(best, 12, t, u, v, 0.0, 0.0)
    if _lp_sp_rp(-x, y, -phi, -s, c, &t, &u, &v):
        _rs_take(best, 12, -t, -u, -v, 0.0, 0.0)
    if _lp_sp_rp(x, -y, -phi, -s, c, &t, &u, &v):
        _rs_take(best, 13, t, u, v, 0.0, 0.0)
    if _lp_sp_rp(-x, -y, phi, s, c, &t, &u, &v):
        _rs_take(best, 13, -t, -u, -v, 0.0, 0.0)
    # CCC, forwards and backwards
    if _lp_rm_l(x, y, phi, s, c, &t, &u, &v):
        _rs_take(best, 0, t, u, v, 0.0, 0.0)
    if _lp_rm_l(-x, y, -phi, -s, c, &t, &u, &v):
        _rs_take(best, 0, -t, -u, -v, 0.0, 0.0)
    if _lp_rm_l(x, -y, -phi, -s, c, &t, &u, &v):
        _rs_take(best, 1, t, u, v, 0.0, 0.0)
    if _lp_rm_l(-x, -y, phi, s, c, &t, &u, &v):
        _rs_take(best, 1, -t, -u, -v, 0.0, 0.0)
    if _lp_rm_l(xb, yb, phi, s, c, &t, &u, &v):
        _rs_take(best, 0, v, u, t, 0.0, 0.0)
    if _lp_rm_l(-xb, yb, -phi, -s, c, &t, &u, &v):
        _rs_take(best, 0, -v, -u, -t, 0.0, 0.0)
    if _lp_rm_l(xb, -yb, -phi, -s, c, &t, &u, &v):
        _rs_take(best, 1, v, u, t, 0.0, 0.0)
    if _lp_rm_l(-xb, -yb, phi, s, c, &t, &u, &v):
        _rs_take(best, 1, -v, -u, -t, 0.0, 0.0)
    # CCCC
    if _lp_rup_lum_rm(x, y, phi, s, c, &t, &u, &v):
        _rs_take(best, 2, t, u, -u, v, 0.0)
    if _lp_rup_lum_rm(-x, y, -phi, -s, c, &t, &u, &v):
        _rs_take(best, 2, -t, -u, u, -v, 0.0)
    if _lp_rup_lum_rm(x, -y, -phi, -s, c, &t, &u, &v):
        _rs_take(best, 3, t, u, -u, v, 0.0)
    if _lp_rup_lum_rm(-x, -y, phi, s, c, &t, &u, &v):
        _rs_take(best, 3, -t, -u, u, -v, 0.0)
    if _lp_rum_lum_rp(x, y, phi, s, c, &t, &u, &v):
        _rs_take(best, 2, t, u, u, v, 0.0)
    if _lp_rum_lum_rp(-x, y, -phi, -s, c, &t, &u, &v):
        _rs_take(best, 2, -t, -u, -u, -v, 0.0)
    if _lp_rum_lum_rp(x, -y, -phi, -s, c, &t, &u, &v):
        _rs_take(best, 3, t, u, u, v, 0.0)
    if _lp_rum_lum_rp(-x, -y, phi, s, c, &t, &u, &v):
        _rs_take(best, 3, -t, -u, -u, -v, 0.0)
    # CCSC, forwards and backwards
    if _lp_rm_sm_lm(x, y, phi, s, c, &t, &u, &v):
        _rs_take(best, 4, t, -HALF_PI, u, v, 0.0)
    if _lp_rm_sm_lm(-x, y, -phi, -s, c, &t, &u, &v):
        _rs_take(best, 4, -t, HALF_PI, -u, -v, 0.0)
    if _lp_rm_sm_lm(x, -y, -phi, -s, c, &t, &u, &v):
        _rs_take(best, 5, t, -HALF_PI, u, v, 0.0)
    if _lp_rm_sm_lm(-x, -y, phi, s, c, &t, &u, &v):
        _rs_take(best, 5, -t, HALF_PI, -u, -v, 0.0)
    if _lp_rm_sm_rm(x, y, phi, s, c, &t, &u, &v):
        _rs_take(best, 8, t, -HALF_PI, u, v, 0.0)
    if _lp_rm_sm_rm(-x, y, -phi, -s, c, &t, &u, &v):
        _rs_take(best, 8, -t, HALF_PI, -u, -v, 0.0)
    if _lp_rm_sm_rm(x, -y, -phi, -s, c, &t, &u, &v):
        _rs_take(best, 9, t, -HALF_PI, u, v, 0.0)
    if _lp_rm_sm_rm(-x, -y, phi, s, c, &t, &u, &v):
        _rs_take(best, 9, -t, HALF_PI, -u, -v, 0.0)
    if _lp_rm_sm_lm(xb, yb, phi, s, c, &t, &u, &v):
        _rs_take(best, 6, v, u, -HALF_PI, t, 0.0)
    if _lp_rm_sm_lm(-xb, yb, -phi, -s, c, &t, &u, &v):
        _rs_take(best, 6, -v, -u, HALF_PI, -t, 0.0)
    if _lp_rm_sm_lm(xb, -yb, -phi, -s, c, &t, &u, &v):
        _rs_take(best, 7, v, u, -HALF_PI, t, 0.0)
    if _lp_rm_sm_lm(-xb, -yb, phi, s, c, &t, &u, &v):
        _rs_take(best, 7, -v, -u, HALF_PI, -t, 0.0)
    if _lp_rm_sm_rm(xb, yb, phi, s, c, &t, &u, &v):
        _rs_take(best, 10, v, u, -HALF_PI, t, 0.0)
    if _lp_rm_sm_rm(-xb, yb, -phi, -s, c, &t, &u, &v):
        _rs_take(best, 10, -v, -u, HALF_PI, -t, 0.0)
    if _lp_rm_sm_rm(xb, -yb, -phi, -s, c, &t, &u, &v):
        _rs_take(best, 11, v, u, -HALF_PI, t, 0.0)
    if _lp_rm_sm_rm(-xb, -yb, phi, s, c, &t, &u, &v):
        _rs_take(best, 11, -v, -u, HALF_PI, -t, 0.0)
    # CCSCC
    if _lp_rm_s_lm_rp(x, y, phi, s, c, &t, &u, &v):
        _rs_take(best, 16, t, -HALF_PI, u, -HALF_PI, v)
    if _lp_rm_s_lm_rp(-x, y, -phi, -s, c, &t, &u, &v):
        _rs_take(best, 16, -t, HALF_PI, -u, HALF_PI, -v)
    if _lp_rm_s_lm_rp(x, -y, -phi, -s, c, &t, &u, &v):
        _rs_take(best, 17, t, -HALF_PI, u, -HALF_PI, v)
    if _lp_rm_s_lm_rp(-x, -y, phi, s, c, &t, &u, &v):
        _rs_take(best, 17, -t, HALF_PI, -u, HALF_PI, -v)


cdef int reeds_shepp_pair(double x0, double y0, double h0, double x1, double y1, double h1, double radius_m,
                          TurnPath* out) noexcept nogil:
    """Shortest path with reversing allowed between two poses (lengths of ``out`` in radii)."""
    cdef double dx, dy, c, s
    if not _finite_input(x0, y0, h0, x1, y1, h1, radius_m):
        return TURN_BAD_INPUT
    dx = x1 - x0
    dy = y1 - y0
    c = cos(h0)
    s = sin(h0)
    _reeds_shepp_unit((c * dx + s * dy) / radius_m, (-s * dx + c * dy) / radius_m, h1 - h0, out)
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
        raise ValueError(f"{'Dubins' if kind == DUBINS else 'Reeds-Shepp'} word must be in 0..{n - 1}, got {word}")
    return word


def _check_radius_step(double radius_m, double step_m):
    if not (isfinite(radius_m) and radius_m > 0.0):
        raise ValueError(f"radius_m must be finite and > 0, got {radius_m}")
    if not (isfinite(step_m) and step_m > 0.0):
        raise ValueError(f"step_m must be finite and > 0, got {step_m}")


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
    with nogil:
        for i in range(n):
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


cdef tuple _sample_many(int kind, const double[:, ::1] q0, words, const double[:, ::1] params, double radius_m,
                        double step_m):
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
    """Shortest Dubins paths for N pose pairs (float64 (N, 3) arrays): (length_m[N], word int8[N], params[N, 3]).

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


def sample_dubins(q0, long word, params, double radius_m, double step_m):
    """Samples ``(x, y, heading, direction)`` every ``step_m`` at most along one Dubins path: float64[M, 4]."""
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
