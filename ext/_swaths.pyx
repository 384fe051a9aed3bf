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

from agrifleet.ext._scanline cimport sort_crossings

cnp.import_array()


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
    sort_crossings(out, m)
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


cdef inline double _slant(double centre, double edge_a, double edge_b, double extension) noexcept nogil:
    if extension <= 0.0:
        return 0.0
    if fabs(0.5 * (edge_a + edge_b) - centre) > 0.05 * fabs(edge_a - edge_b) + 1e-6:
        return 0.0
    if extension < 0.5 * fabs(edge_a - edge_b):
        return extension
    return 0.5 * fabs(edge_a - edge_b)


cdef Py_ssize_t _intervals(double* hits, Py_ssize_t m, double* out0, double* out1) noexcept nogil:
    cdef Py_ssize_t i = 0, k = 0
    while i + 1 < m:
        if hits[i + 1] - hits[i] > 1e-9:
            out0[k] = hits[i]
            out1[k] = hits[i + 1]
            k += 1
        i += 2
    return k


cdef Py_ssize_t _merge(double* a0, double* a1, Py_ssize_t na, double* b0, double* b1, Py_ssize_t nb,
                       double* out0, double* out1) noexcept nogil:
    """Union of two sorted interval lists, sorted."""
    cdef Py_ssize_t i = 0, j = 0, k = 0
    cdef double s, e
    while i < na or j < nb:
        if j >= nb or (i < na and a0[i] <= b0[j]):
            s = a0[i]
            e = a1[i]
            i += 1
        else:
            s = b0[j]
            e = b1[j]
            j += 1
        if k > 0 and s <= out1[k - 1]:
            if e > out1[k - 1]:
                out1[k - 1] = e
        else:
            out0[k] = s
            out1[k] = e
            k += 1
    return k


def build_swaths(const double[::1] xs, const double[::1] ys, const cnp.int64_t[::1] ring_offsets,
                 const double[::1] axs, const double[::1] ays, const cnp.int64_t[::1] a_offsets,
                 double angle, const double[::1] centres, double width, int nsub):
    """Swath pieces of the lines ``across = centres[q]`` with their coverage extensions.

    Pieces of one line that lie in the same stretch of the ``allowed`` polygon (where the implement stays
    in the field) form one swath. Each swath is extended as far as its strip's two edges and any polygon
    vertex inside the strip reach, then clamped to its stretch. Returns per swath: line index, core start
    and end (centre line), extended start and end, the slanted part of each extension, the inner area each
    extension covers and the inner area the whole swath covers (midpoint rule over ``nsub`` lines across
    the strip).
    """
    cdef Py_ssize_t n = xs.shape[0], na = axs.shape[0], nl = centres.shape[0]
    cdef Py_ssize_t cap = nl * (n // 2 + 1) + 1, count = 0
    cdef Py_ssize_t q, i, j, g, g_end, npc, nr, nlo, nhi, nsb, side, t, v
    cdef double ca = cos(angle), sa = sin(angle), half = 0.5 * width * (1.0 - 1e-6), strip = width / nsub
    cdef double c, lo, hi, start, end, vmin, vmax, mid, gs, ge, x0, x1
    cdef double r_lo0, r_lo1, r_hi0, r_hi1
    cdef bint tip_s, tip_e, found, hit, from_edges
    cdef int owner_g
    nxt_arr = _next_index(ring_offsets, n)
    anxt_arr = _next_index(a_offsets, na)
    cdef cnp.int64_t[::1] nxt = nxt_arr
    cdef cnp.int64_t[::1] anxt = anxt_arr
    along_arr = np.empty(n, dtype=np.float64)
    across_arr = np.empty(n, dtype=np.float64)
    a_along_arr = np.empty(max(na, 1), dtype=np.float64)
    a_across_arr = np.empty(max(na, 1), dtype=np.float64)
    cdef double[::1] along = along_arr
    cdef double[::1] across = across_arr
    cdef double[::1] a_along = a_along_arr
    cdef double[::1] a_across = a_across_arr
    for i in range(n):
        along[i] = xs[i] * ca + ys[i] * sa
        across[i] = -xs[i] * sa + ys[i] * ca
    for i in range(na):
        a_along[i] = axs[i] * ca + ays[i] * sa
        a_across[i] = -axs[i] * sa + ays[i] * ca
    out = [np.empty(cap, dtype=np.int64)] + [np.empty(cap, dtype=np.float64) for _ in range(9)]
    cdef cnp.int64_t[::1] o_line = out[0]
    cdef double[::1] o_lo = out[1]
    cdef double[::1] o_hi = out[2]
    cdef double[::1] o_start = out[3]
    cdef double[::1] o_end = out[4]
    cdef double[::1] o_ss = out[5]
    cdef double[::1] o_se = out[6]
    cdef double[::1] o_gs = out[7]
    cdef double[::1] o_ge = out[8]
    cdef double[::1] o_cov = out[9]
    cdef double cov
    cdef Py_ssize_t big = max(n, na) + 2
    cdef double* hits = <double*> malloc(big * sizeof(double))
    cdef double* p0 = <double*> malloc(big * sizeof(double))
    cdef double* p1 = <double*> malloc(big * sizeof(double))
    cdef int* owner = <int*> malloc(big * sizeof(int))
    cdef double* r0 = <double*> malloc(big * sizeof(double))
    cdef double* r1 = <double*> malloc(big * sizeof(double))
    cdef double* lo0 = <double*> malloc(big * sizeof(double))
    cdef double* lo1 = <double*> malloc(big * sizeof(double))
    cdef double* hi0 = <double*> malloc(big * sizeof(double))
    cdef double* hi1 = <double*> malloc(big * sizeof(double))
    cdef double* sb0 = <double*> malloc(big * nsub * sizeof(double))
    cdef double* sb1 = <double*> malloc(big * nsub * sizeof(double))
    if (hits == NULL or p0 == NULL or p1 == NULL or owner == NULL or r0 == NULL or r1 == NULL or lo0 == NULL
            or lo1 == NULL or hi0 == NULL or hi1 == NULL or sb0 == NULL or sb1 == NULL):
        free(hits); free(p0); free(p1); free(owner); free(r0); free(r1)
        free(lo0); free(lo1); free(hi0); free(hi1); free(sb0); free(sb1)
        raise MemoryError()
    try:
        with nogil:
            for q in range(nl):
                c = centres[q]
                npc = _intervals(hits, _crossings(&along[0], &across[0], &nxt[0], n, c, hits), p0, p1)
                nlo = _intervals(hits, _crossings(&along[0], &across[0], &nxt[0], n, c - half, hits), lo0, lo1)
                nhi = _intervals(hits, _crossings(&along[0], &across[0], &nxt[0], n, c + half, hits), hi0, hi1)
                from_edges = npc == 0
                if from_edges:
                    # the centre line misses the field but the strip does not (a tip at the side)
                    npc = _merge(lo0, lo1, nlo, hi0, hi1, nhi, p0, p1)
                if npc == 0:
                    continue
                if na > 0:
                    nr = _intervals(hits, _crossings(&a_along[0], &a_across[0], &anxt[0], na, c, hits), r0, r1)
                else:
                    nr = 0
                nsb = 0
                for t in range(nsub):
                    nsb += _intervals(hits, _crossings(&along[0], &across[0], &nxt[0], n,
                                                       c + width * ((t + 0.5) / nsub - 0.5), hits),
                                      sb0 + nsb, sb1 + nsb)
                for i in range(npc):
                    owner[i] = -1
                    mid = 0.5 * (p0[i] + p1[i])
                    for j in range(nr):
                        if r0[j] <= mid <= r1[j]:
                            owner[i] = <int> j
                            break
                g = 0
                while g < npc:
                    owner_g = owner[g]
                    g_end = g + 1
                    if owner_g >= 0:
                        while g_end < npc and owner[g_end] == owner_g:
                            g_end += 1
                    elif from_edges:
                        g = g_end
                        continue
                    lo = p0[g]
                    hi = p1[g_end - 1]
                    # reach of each strip edge over the group's pieces
                    r_lo0 = lo
                    r_lo1 = hi
                    r_hi0 = lo
                    r_hi1 = hi
                    for side in range(2):
                        found = False
                        x0 = 0.0
                        x1 = 0.0
                        for j in range((nlo if side == 0 else nhi)):
                            hit = False
                            for i in range(g, g_end):
                                if side == 0:
                                    if lo0[j] <= p1[i] and lo1[j] >= p0[i]:
                                        hit = True
                                        break
                                else:
                                    if hi0[j] <= p1[i] and hi1[j] >= p0[i]:
                                        hit = True
                                        break
                            if hit:
                                if side == 0:
                                    if not found or lo0[j] < x0:
                                        x0 = lo0[j]
                                    if not found or lo1[j] > x1:
                                        x1 = lo1[j]
                                else:
                                    if not found or hi0[j] < x0:
                                        x0 = hi0[j]
                                    if not found or hi1[j] > x1:
                                        x1 = hi1[j]
                                found = True
                        if found:
                            if side == 0:
                                r_lo0 = x0
                                r_lo1 = x1
                            else:
                                r_hi0 = x0
                                r_hi1 = x1
                    start = lo
                    if r_lo0 < start:
                        start = r_lo0
                    if r_hi0 < start:
                        start = r_hi0
                    end = hi
                    if r_lo1 > end:
                        end = r_lo1
                    if r_hi1 > end:
                        end = r_hi1
                    # polygon vertices inside the strip near the ends
                    found = False
                    vmin = 0.0
                    vmax = 0.0
                    for v in range(n):
                        if fabs(across[v] - c) < half and along[v] >= start - 2 * width and along[v] <= end + 2 * width:
                            if not found or along[v] < vmin:
                                vmin = along[v]
                            if not found or along[v] > vmax:
                                vmax = along[v]
                            found = True
                    tip_s = False
                    tip_e = False
                    if found:
                        tip_s = vmin < start
                        tip_e = vmax > end
                        if vmin < start:
                            start = vmin
                        if vmax > end:
                            end = vmax
                    if owner_g >= 0:
                        x0 = r0[owner_g] if r0[owner_g] < lo else lo
                        x1 = r1[owner_g] if r1[owner_g] > hi else hi
                        if x0 > start:
                            start = x0
                        if x1 < end:
                            end = x1
                    else:
                        start = lo
                        end = hi
                    gs = 0.0
                    ge = 0.0
                    cov = 0.0
                    for t in range(nsb):
                        x0 = sb1[t] if sb1[t] < end else end
                        x1 = sb0[t] if sb0[t] > start else start
                        if x0 - x1 > 0:
                            cov += x0 - x1
                        x0 = sb1[t] if sb1[t] < lo else lo
                        x1 = sb0[t] if sb0[t] > start else start
                        if x0 - x1 > 0:
                            gs += x0 - x1
                        x0 = sb1[t] if sb1[t] < end else end
                        x1 = sb0[t] if sb0[t] > hi else hi
                        if x0 - x1 > 0:
                            ge += x0 - x1
                    o_line[count] = q
                    o_lo[count] = lo
                    o_hi[count] = hi
                    o_start[count] = start
                    o_end[count] = end
                    o_ss[count] = 0.0 if tip_s else _slant(lo, r_lo0, r_hi0, lo - start)
                    o_se[count] = 0.0 if tip_e else _slant(hi, r_lo1, r_hi1, end - hi)
                    o_gs[count] = strip * gs
                    o_ge[count] = strip * ge
                    o_cov[count] = strip * cov
                    count += 1
                    g = g_end
    finally:
        free(hits); free(p0); free(p1); free(owner); free(r0); free(r1)
        free(lo0); free(lo1); free(hi0); free(hi1); free(sb0); free(sb1)
    return tuple(arr[:count].copy() for arr in out)
