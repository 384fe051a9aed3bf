# cython: language_level=3
"""Shortest Reeds-Shepp path between two poses (``_turns_rs.pyx``), for kernels that cimport it."""
from agrifleet.ext._turns_base cimport TurnPath

cdef int reeds_shepp_pair(double x0, double y0, double h0, double x1, double y1, double h1, double radius_m,
                          TurnPath* out) noexcept nogil
cdef bint rs_use_simd(int flag) noexcept nogil
