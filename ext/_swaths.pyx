# cython: language_level=3
"""Scan-line clipping of parallel swath lines against a polygon with holes.

The polygon arrives as one array of vertex coordinates for all its rings plus ring offsets (rings are
implicitly closed). For a swath direction ``angle`` every point is expressed as (along, across) in the
rotated frame; a swath line is ``across = c`` and its pieces inside the polygon are the intervals between
consecutive crossings, found with the half-open rule so that a line through a vertex is counted once.

Two entry points: ``angle_scan`` scores many candidate angles at once (count and total length of the pieces
of equally spaced lines, centred on the polygon's extent), and ``scan_intervals`` returns the pieces for
given lines at one angle. The reference implementation is ``_swaths_ref.py``.
"""
import numpy as np
cimport numpy as cnp
from libc.math cimport cos, sin, ceil, fabs
from libc.stdlib cimport malloc, free

cnp.import_array()


cdef void _sort(double* a, Py_ssize_t n) noexcept nogil:
    # Insertion sort: a line crosses a field boundary a handful of times.
    cdef Py_ssize_t i, j
    cdef double v
    for i in range(1, n):
        v = a[i]
        j = i - 1
        while j >= 0 and a[j] > v:
            a[j + 1] = a[j]
            j -= 1
        a[j + 1] = v


cdef Py_ssize_t _crossings(const double* along, const double* across, const cnp.int64_t* nxt, Py_ssize_t n,
                           double c, double* out) noexcept nogil:
    cdef Py_ssize_t i, j, m = 0
    cdef double a0, a1
    for i in range(n):
        j = nxt[i]
        a0 = across[i]
        a1 = across[j]
        if (a0 <= c < a1) or (a1 <= c < a0):
            out[m] = along[i] + (c - a0) * (along[j] - along[i]) / (a1 - a0)
            m += 1
    _sort(out, m)
    return m


def _next_index(const cnp.int64_t[::1] ring_offsets, Py_ssize_t n):
    nxt = np.empty(n, dtype=np.int64)
    cdef cnp.int64_t[::1] nv = nxt
    cdef Py_ssize_t r, i, a, b
    for r in range(ring_offsets.shape[0] - 1):
        a = ring_offsets[r]
        b = ring_offsets[r + 1]
        for i in range(a, b):
            nv[i] = i + 1 if i + 1 < b else a
    return nxt


def angle_scan(const double[::1] xs, const double[::1] ys, const cnp.int64_t[::1] ring_offsets,
               const double[::1] angles, double spacing):
    """For each angle: (number of swath pieces, their total length, number of lines, stagger).

    The length counts what the implement strip needs: each line's first and last piece are stretched to
    the furthest point of the strip's two edges. ``stagger`` sums, over neighbouring lines, how far their
    ends are apart along the swath direction: the extra travel that turns at a slanted boundary cost.
    """
    cdef Py_ssize_t n = xs.shape[0], na = angles.shape[0], k, i, m, nl, q
    pieces_arr = np.zeros(na, dtype=np.int64)
    length_arr = np.zeros(na, dtype=np.float64)
    lines_arr = np.zeros(na, dtype=np.int64)
    stagger_arr = np.zeros(na, dtype=np.float64)
    cdef cnp.int64_t[::1] pieces = pieces_arr
    cdef double[::1] length = length_arr
    cdef cnp.int64_t[::1] lines = lines_arr
    cdef double[::1] stagger = stagger_arr
    nxt_arr = _next_index(ring_offsets, n)
    cdef cnp.int64_t[::1] nxt = nxt_arr
    cdef double* along = <double*> malloc(n * sizeof(double))
    cdef double* across = <double*> malloc(n * sizeof(double))
    cdef double* hits = <double*> malloc((n + 1) * sizeof(double))
    cdef double* ehits = <double*> malloc((n + 1) * sizeof(double))
    cdef double ca, sa, lo, hi, c, start, total, half = 0.5 * spacing * (1.0 - 1e-6)
    cdef double first, last, emin, emax, prev_first = 0.0, prev_last = 0.0, drift
    cdef cnp.int64_t count
    cdef Py_ssize_t me, side, j
    cdef bint have_prev
    if along == NULL or across == NULL or hits == NULL or ehits == NULL:
        free(along); free(across); free(hits); free(ehits)
        raise MemoryError()
    try:
        with nogil:
            for k in range(na):
                ca = cos(angles[k])
                sa = sin(angles[k])
                lo = 1e300
                hi = -1e300
                for i in range(n):
                    along[i] = xs[i] * ca + ys[i] * sa
                    across[i] = -xs[i] * sa + ys[i] * ca
                    if across[i] < lo:
                        lo = across[i]
                    if across[i] > hi:
                        hi = across[i]
                nl = <Py_ssize_t> ceil((hi - lo) / spacing - 1e-9)
                if nl < 1:
                    nl = 1
                start = lo + 0.5 * ((hi - lo) - (nl - 1) * spacing)
                count = 0
                total = 0.0
                drift = 0.0
                have_prev = False
                for q in range(nl):
                    c = start + q * spacing
                    m = _crossings(along, across, &nxt[0], n, c, hits)
                    first = 1e300
                    last = -1e300
                    i = 0
                    while i + 1 < m:
                        if hits[i + 1] - hits[i] > 1e-9:
                            count += 1
                            total += hits[i + 1] - hits[i]
                            if hits[i] < first:
                                first = hits[i]
                            if hits[i + 1] > last:
                                last = hits[i + 1]
                        i += 2
                    if first > last:
                        have_prev = False
                        continue
                    emin = first
                    emax = last
                    for side in range(2):
                        me = _crossings(along, across, &nxt[0], n, c - half if side == 0 else c + half, ehits)
                        j = 0
                        while j + 1 < me:
                            if ehits[j + 1] >= first and ehits[j] <= last:
                                if ehits[j] < emin:
                                    emin = ehits[j]
                                if ehits[j + 1] > emax:
                                    emax = ehits[j + 1]
                            j += 2
                    total += (first - emin) + (emax - last)
                    if have_prev:
                        drift += 0.5 * (fabs(emin - prev_first) + fabs(emax - prev_last))
                    prev_first = emin
                    prev_last = emax
                    have_prev = True
                pieces[k] = count
                length[k] = total
                lines[k] = nl
                stagger[k] = drift
    finally:
        free(along); free(across); free(hits); free(ehits)
    return pieces_arr, length_arr, lines_arr, stagger_arr


def scan_intervals(const double[::1] xs, const double[::1] ys, const cnp.int64_t[::1] ring_offsets,
                   double angle, const double[::1] offsets):
    """Pieces of the lines ``across = offsets[k]`` inside the polygon: (line index, along start, along end)."""
    cdef Py_ssize_t n = xs.shape[0], nl = offsets.shape[0], i, q, m, count = 0, cap
    nxt_arr = _next_index(ring_offsets, n)
    cdef cnp.int64_t[::1] nxt = nxt_arr
    cdef double ca = cos(angle), sa = sin(angle)
    along_arr = np.empty(n, dtype=np.float64)
    across_arr = np.empty(n, dtype=np.float64)
    cdef double[::1] along = along_arr
    cdef double[::1] across = across_arr
    for i in range(n):
        along[i] = xs[i] * ca + ys[i] * sa
        across[i] = -xs[i] * sa + ys[i] * ca
    cap = nl * (n // 2 + 1) + 1
    line_arr = np.empty(cap, dtype=np.int64)
    x0_arr = np.empty(cap, dtype=np.float64)
    x1_arr = np.empty(cap, dtype=np.float64)
    cdef cnp.int64_t[::1] line = line_arr
    cdef double[::1] x0 = x0_arr
    cdef double[::1] x1 = x1_arr
    cdef double* hits = <double*> malloc((n + 1) * sizeof(double))
    if hits == NULL:
        raise MemoryError()
    try:
        with nogil:
            for q in range(nl):
                m = _crossings(&along[0], &across[0], &nxt[0], n, offsets[q], hits)
                i = 0
                while i + 1 < m:
                    if hits[i + 1] - hits[i] > 1e-9:
                        line[count] = q
                        x0[count] = hits[i]
                        x1[count] = hits[i + 1]
                        count += 1
                    i += 2
    finally:
        free(hits)
    return line_arr[:count].copy(), x0_arr[:count].copy(), x1_arr[:count].copy()
