# cython: language_level=3
"""Sampling of turn curves (``_turns.pyx``), for kernels that cimport it.

The searches are in ``_turns_dubins.pxd`` (``dubins_pair``) and ``_turns_rs.pxd`` (``reeds_shepp_pair``); the
shared types, constants and fast math in ``_turns_base.pxd``.
"""
from agrifleet.ext._turns_base cimport Pose

cdef Pose advance(Pose q, int segment, double length_m, double radius_m) noexcept nogil
cdef Py_ssize_t emit_samples(Pose q, const int* segments, const double* lengths_m, int n_segments,
                             double radius_m, double step_m, double* out) noexcept nogil
