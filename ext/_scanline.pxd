# cython: language_level=3
"""Helpers shared by the scan-line kernels ``_swaths`` and ``_raster`` (declarations only: no module of its
own)."""


cdef inline void sort_crossings(double* a, Py_ssize_t n) noexcept nogil:
    """Sort the crossings of one scan line in place: insertion sort, for a line crosses a field's rings a
    handful of times."""
    cdef Py_ssize_t i, j
    cdef double v
    for i in range(1, n):
        v = a[i]
        j = i - 1
        while j >= 0 and a[j] > v:
            a[j + 1] = a[j]
            j -= 1
        a[j + 1] = v
