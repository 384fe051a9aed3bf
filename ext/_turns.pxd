# cython: language_level=3
"""Shared declarations of the turn-curve kernel ``_turns.pyx``.

Other kernels may ``cimport`` these ``noexcept nogil`` functions to evaluate or trace a shortest Dubins or
Reeds-Shepp path inside their own loops without the Python layer. Lengths inside a :c:type:`TurnPath` are in
units of the turning radius (as in Reeds & Shepp 1990 and OMPL); multiply by the radius for metres.
"""

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

cdef int dubins_pair(double x0, double y0, double h0, double x1, double y1, double h1, double radius_m,
                     TurnPath* out) noexcept nogil
cdef int reeds_shepp_pair(double x0, double y0, double h0, double x1, double y1, double h1, double radius_m,
                          TurnPath* out) noexcept nogil
cdef Pose advance(Pose q, int segment, double length_m, double radius_m) noexcept nogil
cdef Py_ssize_t emit_samples(Pose q, const int* segments, const double* lengths_m, int n_segments,
                             double radius_m, double step_m, double* out) noexcept nogil
