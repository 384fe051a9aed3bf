"""Plain numpy reference of ``_raster.pyx``: the same functions, the same grid convention, the same results.

See ``_raster.pyx`` for the grid convention and the meaning of the layers. Loops run over rows (fill) and
quads (sweep) with the cells of one row or one bounding box vectorised; every comparison and rounding is
written as in the kernel, so the two agree cell for cell.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["fill_polygon", "sweep_quads"]


def _clamp_index(v: float, n: int) -> int:
    if not v >= -1.0:  # also NaN, as in the kernel
        return -1
    if v > n:
        return n
    return int(v)


def _ceil_index(v: float, n: int) -> int:
    """``_clamp_index(ceil(v), n)`` that also takes infinities."""
    return _clamp_index(v, n) if not -1.0 <= v <= n else _clamp_index(math.ceil(v), n)


def _floor_index(v: float, n: int) -> int:
    return _clamp_index(v, n) if not -1.0 <= v <= n else _clamp_index(math.floor(v), n)


def fill_polygon(mask: np.ndarray, edges: np.ndarray, x0: float, y0: float, cell: float,
                 value: int = 1) -> int:
    ny, nx = mask.shape
    edges = np.asarray(edges, dtype=np.float64).reshape(-1, 4)
    if len(edges) == 0 or ny == 0 or nx == 0:
        return 0
    xa, ya, xb, yb = edges.T
    n_set = 0
    for j in range(ny):
        for i_lo, i_hi in _row_spans(xa, ya, xb, yb, y0 + (j + 0.5) * cell, x0, cell, nx):
            mask[j, i_lo:i_hi + 1] = value
            n_set += i_hi - i_lo + 1
    return n_set


def _row_spans(xa, ya, xb, yb, py: float, x0: float, cell: float, nx: int):
    """Column ranges ``(first, last)`` of the cells of the row at height ``py`` whose centres lie inside
    the edges ``(xa, ya) -> (xb, yb)`` (even-odd rule, half-open edges)."""
    hit = (ya > py) != (yb > py)
    if not hit.any():
        return
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        xs = np.sort(xa[hit] + (py - ya[hit]) * (xb[hit] - xa[hit]) / (yb[hit] - ya[hit]))
    for k in range(0, len(xs) - 1, 2):
        i_lo = max(_ceil_index(((xs[k] - x0) / cell - 0.5), nx), 0)
        i_hi = min(_ceil_index(((xs[k + 1] - x0) / cell - 0.5), nx) - 1, nx - 1)
        if i_hi >= i_lo:
            yield i_lo, i_hi


def sweep_quads(count: np.ndarray, stamp: np.ndarray, applied: np.ndarray, x0: float, y0: float, cell: float,
                quads: np.ndarray, run: np.ndarray, rate: np.ndarray) -> int:
    ny, nx = count.shape
    quads = np.asarray(quads, dtype=np.float64).reshape(-1, 4, 2)
    if len(run) != len(quads) or len(rate) != len(quads):
        raise ValueError("run and rate need one entry per quad")
    if stamp.shape != count.shape or applied.shape != count.shape:
        raise ValueError("count, stamp and applied must have the same shape")
    painted = 0
    for k in range(len(quads)):
        q = quads[k]
        miny, maxy = q[:, 1].min(), q[:, 1].max()
        if not (q[:, 0].max() >= q[:, 0].min() and maxy >= miny):
            continue
        j_lo = max(_floor_index(((miny - y0) / cell - 0.5), ny), 0)
        j_hi = min(_ceil_index(((maxy - y0) / cell - 0.5), ny), ny - 1)
        if j_hi < j_lo:
            continue
        r = int(run[k])
        w = np.float32(rate[k])
        xa, ya = q[:, 0], q[:, 1]
        xb, yb = np.roll(xa, -1), np.roll(ya, -1)
        for j in range(j_lo, j_hi + 1):
            for i_lo, i_hi in _row_spans(xa, ya, xb, yb, y0 + (j + 0.5) * cell, x0, cell, nx):
                row_stamp = stamp[j, i_lo:i_hi + 1]
                fresh = row_stamp != r
                n = int(fresh.sum())
                if n == 0:
                    continue
                cols = np.flatnonzero(fresh) + i_lo
                stamp[j, cols] = r
                c = count[j, cols]
                count[j, cols] = np.where(c < 65535, c + 1, c)
                applied[j, cols] += w
                painted += n
    return painted
