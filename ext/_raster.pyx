# cython: language_level=3
"""Coverage rasterisation: fill polygons and paint the quadrilaterals an implement sweeps, on a regular grid.

Grid convention (shared with ``_raster_ref.py`` and ``sim/coverage.py``): array ``[row, col]`` of shape
``(ny, nx)``; cell ``(j, i)`` has its centre at ``(x0 + (i + 0.5) * cell, y0 + (j + 0.5) * cell)``. A cell
belongs to a shape when its centre does, by the even-odd rule with half-open edges (a centre exactly on an
edge shared by two shapes belongs to one of them), so adjacent shapes tile the grid without gaps.

``sweep_quads`` paints each quadrilateral (the ground one group of adjacent implement sections crossed
during one step) into three layers: ``count`` (how many passes applied the cell, saturating), ``applied``
(sum of the rates) and ``stamp`` (the last pass, ``run``, that painted it). A cell is painted at most once
per run, so the consecutive quads of one pass, which share edges and overlap on the inside of a curve, do
not count as overlap; a second pass over the same ground does.
"""
from libc.math cimport floor, ceil
from libc.stdlib cimport malloc, free

from agrifleet.ext._scanline cimport sort_crossings

ctypedef unsigned short count_t


cdef inline Py_ssize_t _index(double v, Py_ssize_t n) noexcept nogil:
    # Clamp before the cast: a shape far off the grid must not overflow the integer conversion.
    if not v >= -1.0:  # also NaN
        return -1
    if v > <double> n:
        return n
    return <Py_ssize_t> v


cdef inline Py_ssize_t _quad_crossings(const double[:, :, ::1] q, Py_ssize_t k, double py,
                                       double* xs) noexcept nogil:
    # x of the quad's edges at height py (half-open rule), sorted: the even-odd spans of the row.
    cdef Py_ssize_t m = 0
    cdef int e, f
    cdef double xa, ya, xb, yb
    for e in range(4):
        f = (e + 1) % 4
        xa = q[k, e, 0]
        ya = q[k, e, 1]
        xb = q[k, f, 0]
        yb = q[k, f, 1]
        if (ya > py) != (yb > py):
            xs[m] = xa + (py - ya) * (xb - xa) / (yb - ya)
            m += 1
    sort_crossings(xs, m)
    return m


def fill_polygon(unsigned char[:, ::1] mask, const double[:, ::1] edges, double x0, double y0, double cell,
                 unsigned char value=1):
    """Set ``mask`` to ``value`` on cells whose centre is inside the edges ``(E, 4)`` = (xa, ya, xb, yb)
    (all rings of a polygon with holes, even-odd rule). Returns the number of cells set."""
    cdef Py_ssize_t ny = mask.shape[0], nx = mask.shape[1], ne = edges.shape[0]
    cdef Py_ssize_t j, i, e, m, k, i_lo, i_hi
    cdef double py, ya, yb, x_cross
    cdef long long n_set = 0
    if ne == 0 or ny == 0 or nx == 0:
        return 0
    cdef double* xs = <double*> malloc(ne * sizeof(double))
    if xs == NULL:
        raise MemoryError()
    try:
        with nogil:
            for j in range(ny):
                py = y0 + (j + 0.5) * cell
                m = 0
                for e in range(ne):
                    ya = edges[e, 1]
                    yb = edges[e, 3]
                    if (ya > py) != (yb > py):
                        xs[m] = edges[e, 0] + (py - ya) * (edges[e, 2] - edges[e, 0]) / (yb - ya)
                        m += 1
                sort_crossings(xs, m)
                k = 0
                while k + 1 < m:
                    # centres with xs[k] <= px < xs[k + 1]
                    i_lo = _index(ceil((xs[k] - x0) / cell - 0.5), nx)
                    i_hi = _index(ceil((xs[k + 1] - x0) / cell - 0.5), nx) - 1
                    if i_lo < 0:
                        i_lo = 0
                    if i_hi > nx - 1:
                        i_hi = nx - 1
                    for i in range(i_lo, i_hi + 1):
                        mask[j, i] = value
                        n_set += 1
                    k += 2
    finally:
        free(xs)
    return n_set


def sweep_quads(count_t[:, ::1] count, int[:, ::1] stamp, float[:, ::1] applied, double x0, double y0,
                double cell, const double[:, :, ::1] quads, const int[::1] run, const double[::1] rate):
    """Paint quads ``(Q, 4, 2)`` of pass ``run[q]`` at ``rate[q]``; returns the number of cells painted."""
    cdef Py_ssize_t ny = count.shape[0], nx = count.shape[1], nq = quads.shape[0]
    cdef Py_ssize_t k, c, i, j, i_lo, i_hi, j_lo, j_hi, m, s
    cdef double minx, maxx, miny, maxy, py
    cdef double xs[4]
    cdef int r
    cdef float w
    cdef long long painted = 0
    if run.shape[0] != nq or rate.shape[0] != nq:
        raise ValueError("run and rate need one entry per quad")
    if stamp.shape[0] != ny or stamp.shape[1] != nx or applied.shape[0] != ny or applied.shape[1] != nx:
        raise ValueError("count, stamp and applied must have the same shape")
    with nogil:
        for k in range(nq):
            minx = maxx = quads[k, 0, 0]
            miny = maxy = quads[k, 0, 1]
            for c in range(1, 4):
                if quads[k, c, 0] < minx:
                    minx = quads[k, c, 0]
                if quads[k, c, 0] > maxx:
                    maxx = quads[k, c, 0]
                if quads[k, c, 1] < miny:
                    miny = quads[k, c, 1]
                if quads[k, c, 1] > maxy:
                    maxy = quads[k, c, 1]
            if not (maxx >= minx and maxy >= miny):  # NaN corners: nothing to paint
                continue
            j_lo = _index(floor((miny - y0) / cell - 0.5), ny)
            j_hi = _index(ceil((maxy - y0) / cell - 0.5), ny)
            if j_lo < 0:
                j_lo = 0
            if j_hi > ny - 1:
                j_hi = ny - 1
            r = run[k]
            w = <float> rate[k]
            for j in range(j_lo, j_hi + 1):
                py = y0 + (j + 0.5) * cell
                m = _quad_crossings(quads, k, py, xs)
                s = 0
                while s + 1 < m:
                    # centres with xs[s] <= px < xs[s + 1], as in fill_polygon
                    i_lo = _index(ceil((xs[s] - x0) / cell - 0.5), nx)
                    i_hi = _index(ceil((xs[s + 1] - x0) / cell - 0.5), nx) - 1
                    if i_lo < 0:
                        i_lo = 0
                    if i_hi > nx - 1:
                        i_hi = nx - 1
                    for i in range(i_lo, i_hi + 1):
                        if stamp[j, i] == r:
                            continue
                        stamp[j, i] = r
                        if count[j, i] < 65535:
                            count[j, i] += 1
                        applied[j, i] += w
                        painted += 1
                    s += 2
    return painted
