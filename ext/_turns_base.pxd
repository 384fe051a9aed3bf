# cython: language_level=3
"""Types, constants and fast math shared by the turn-curve kernels (declarations only: no module of its own).

``_turns_dubins`` and ``_turns_rs`` search shortest paths, ``_turns`` samples them and holds the Python
entry points. Lengths inside a :c:type:`TurnPath` are in units of the turning radius (as in Reeds & Shepp
1990 and OMPL); multiply by the radius for metres.

Fast math: sin/cos and atan2 dominate the searches. These versions are branch-light and faster than libm's
on the machines we measured, with errors of a few 1e-16 (the kernel tests compare them with libm):
``fast_sincos`` reduces by pi/2 with a three-part constant (Cody-Waite; exact for |x| < 2**20, larger
arguments go to libm) and sums the Taylor series to degree 17/16 on [-pi/4, pi/4]; ``fast_atan2`` reduces to
an octant, then atan(z) = atan(k/8) + atan((z - k/8) / (1 + z k/8)) with |argument| <= 1/16 and the Taylor
series to degree 13. Finite arguments only.
"""
from libc.math cimport atan2, sin, cos, fabs, copysign, isfinite, M_PI

cdef extern from *:
    """
    /* Compile-time constants of the turn kernels. */
    #define TURNS_TWO_PI (2.0 * M_PI)
    #define TURNS_INV_TWO_PI (0.5 / M_PI)
    #define TURNS_HALF_PI (0.5 * M_PI)
    #define TURNS_SEGMENT_TINY 1e-10
    /* pi/2 = HI + MID + LO; HI has 25 significant bits, MID the next 24: k * HI and k * MID are exact. */
    #define TURNS_PIO2_HI 1.5707963109016418
    #define TURNS_PIO2_MID 1.5893254712295857e-08
    #define TURNS_PIO2_LO 6.123233995736766e-17
    static const double turns_atan_k8[9] = {
        0.0, 0.12435499454676144, 0.24497866312686414, 0.35877067027057225, 0.4636476090008061,
        0.5585993153435624, 0.6435011087932844, 0.7188299996216245, 0.7853981633974483};  /* atan(k / 8) */
    """
    const double TWO_PI "TURNS_TWO_PI"
    const double INV_TWO_PI "TURNS_INV_TWO_PI"
    const double HALF_PI "TURNS_HALF_PI"
    const double SEGMENT_TINY_RADII "TURNS_SEGMENT_TINY"   # shorter segments: traced, but no samples, no cusp
    const double PIO2_HI "TURNS_PIO2_HI"
    const double PIO2_MID "TURNS_PIO2_MID"
    const double PIO2_LO "TURNS_PIO2_LO"
    const double ATAN_K8 "turns_atan_k8"[9]

cdef enum SegmentKind:
    SEG_NOP = 0          # unused slot of a word with fewer than five segments
    SEG_LEFT = 1         # arc turning counter-clockwise when driven forwards
    SEG_STRAIGHT = 2
    SEG_RIGHT = 3        # arc turning clockwise when driven forwards

cdef enum TurnStatus:
    TURN_OK = 0
    TURN_BAD_INPUT = 1   # a non-finite pose, or a radius that is not finite and > 0
    TURN_NO_PATH = 2     # no candidate word was feasible (never expected; kept instead of an exception)

cdef struct TurnPath:
    double length        # total length in radii (sum of |seg|)
    int word             # index into DUBINS_WORDS or REEDS_SHEPP_WORDS
    double seg[5]        # signed segment lengths in radii (negative = reverse); unused slots 0

cdef struct Pose:
    double x
    double y
    double h


cdef inline void clear_path(TurnPath* p) noexcept nogil:
    p.length = 1.0 / 0.0
    p.word = -1
    p.seg[0] = p.seg[1] = p.seg[2] = p.seg[3] = p.seg[4] = 0.0


cdef inline bint finite_input(double x0, double y0, double h0, double x1, double y1, double h1,
                              double radius_m) noexcept nogil:
    return (isfinite(x0) and isfinite(y0) and isfinite(h0) and isfinite(x1) and isfinite(y1)
            and isfinite(h1) and isfinite(radius_m) and radius_m > 0.0)


cdef inline void fast_sincos(double x, double* s, double* c) noexcept nogil:
    cdef double k, r, r2, sr, cr
    cdef long q
    if not fabs(x) < 1e5:
        s[0] = sin(x)
        c[0] = cos(x)
        return
    q = <long>(x * (2.0 / M_PI) + (0.5 if x >= 0.0 else -0.5))
    k = <double>q
    r = ((x - k * PIO2_HI) - k * PIO2_MID) - k * PIO2_LO
    r2 = r * r
    sr = r + r * r2 * (-1.0 / 6.0 + r2 * (1.0 / 120.0 + r2 * (-1.0 / 5040.0 + r2 * (1.0 / 362880.0 + r2 * (
        -1.0 / 39916800.0 + r2 * (1.0 / 6227020800.0 + r2 * (-1.0 / 1307674368000.0
                                                              + r2 * (1.0 / 355687428096000.0))))))))
    cr = 1.0 + r2 * (-0.5 + r2 * (1.0 / 24.0 + r2 * (-1.0 / 720.0 + r2 * (1.0 / 40320.0 + r2 * (
        -1.0 / 3628800.0 + r2 * (1.0 / 479001600.0 + r2 * (-1.0 / 87178291200.0
                                                           + r2 * (1.0 / 20922789888000.0))))))))
    q &= 3
    if q & 1:
        sr, cr = cr, -sr
    if q & 2:
        sr, cr = -sr, -cr
    s[0] = sr
    c[0] = cr


cdef inline double fast_atan2(double y, double x) noexcept nogil:
    cdef double ax = fabs(x), ay = fabs(y), z, ck, u, u2, a
    cdef int k
    cdef bint swap = ay > ax
    if swap:
        z = ax / ay
    elif ax > 0.0:
        z = ay / ax
    else:
        return atan2(y, x)                     # both zero: libm knows the signed-zero rules
    k = <int>(z * 8.0 + 0.5)
    ck = k * 0.125
    u = (z - ck) / (1.0 + z * ck)
    u2 = u * u
    a = ATAN_K8[k] + u * (1.0 + u2 * (-1.0 / 3.0 + u2 * (0.2 + u2 * (-1.0 / 7.0 + u2 * (
        1.0 / 9.0 + u2 * (-1.0 / 11.0 + u2 * (1.0 / 13.0)))))))
    if swap:
        a = (PIO2_HI - a + PIO2_MID) + PIO2_LO
    if x < 0.0:
        a = (2.0 * PIO2_HI - a + 2.0 * PIO2_MID) + 2.0 * PIO2_LO
    return copysign(a, y)
