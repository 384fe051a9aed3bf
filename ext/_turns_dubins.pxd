# cython: language_level=3
"""Shortest Dubins path between two poses (``_turns_dubins.pyx``), for kernels that cimport it."""
from agrifleet.ext._turns_base cimport TurnPath

cdef enum:                  # Dubins words, as numbered in _turns.DUBINS_WORDS
    W_LSL = 0
    W_LSR = 1
    W_RSL = 2
    W_RSR = 3
    W_RLR = 4
    W_LRL = 5

cdef int dubins_pair(double x0, double y0, double h0, double x1, double y1, double h1, double radius_m,
                     TurnPath* out) noexcept nogil
cdef void dubins_block(const double* q0, const double* q1, int n, double radius_m, TurnPath* out,
                       int* status) noexcept nogil
cdef bint use_simd(int flag) noexcept nogil
