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
    if v < -1.0:
        return -1
    if v > n:
        return n
    return int(v)


def fill_polygon(mask: np.ndarray, edges: np.ndarray, x0: float, y0: float, cell: float, value: int = 1) -> int:
    ny, nx = mask.shape
    edges = np.asarray(edges, dtype=np.float64).reshape(-1, 4)
    if len(edges) == 0 or ny == 0 or nx == 0:
        return 0
    xa, ya, xb, yb = edges.T
    n_set = 0
    for j in range(ny):
        py = y0 + (j + 0.5) * cell
        hit = (ya > py) != (yb > py)
        if not hit.any():
            continue
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            xs = np.sort(xa[hit] + (py - ya[hit]) * (xb[hit] - xa[hit]) / (yb[hit] - ya[hit]))
        for k in range(0, len(xs) - 1, 2):
            i_lo = max(_clamp_index(math.ceil((xs[k] - x0) / cell - 0.5), nx), 0)
            i_hi = min(_clamp_index(math.ceil((xs[k + 1] - x0) / cell - 0.5), nx) - 1, nx - 1)
            if i_hi >= i_lo:
                mask[j, i_lo:i_hi + 1] = value
                n_set += i_hi - i_lo + 1
    return n_set


def _in_quad(q: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    inside = np.zeros(px.shape, dtype=bool)
    for e in range(4):
        xa, ya = q[e]
        xb, yb = q[(e + 1) % 4]
        crosses = (ya > py) != (yb > py)
        if not crosses.any():
            continue
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            xi = xa + (py - ya) * (xb - xa) / (yb - ya)
        inside ^= crosses & (px < xi)
    return inside


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
        minx, maxx = q[:, 0].min(), q[:, 0].max()
        miny, maxy = q[:, 1].min(), q[:, 1].max()
        if not (maxx >= minx and maxy >= miny):
            continue
        i_lo = max(_clamp_index(math.floor((minx - x0) / cell - 0.5), nx), 0)
        i_hi = min(_clamp_index(math.ceil((maxx - x0) / cell - 0.5), nx), nx - 1)
        j_lo = max(_clamp_index(math.floor((miny - y0) / cell - 0.5), ny), 0)
        j_hi = min(_clamp_index(math.ceil((maxy - y0) / cell - 0.5), ny), ny - 1)
        if i_hi < i_lo or j_hi < j_lo:
            continue
        jj, ii = np.mgrid[j_lo:j_hi + 1, i_lo:i_hi + 1]
        px = x0 + (ii + 0.5) * cell
        py = y0 + (jj + 0.5) * cell
        r = int(run[k])
        sel = _in_quad(q, px, py) & (stamp[j_lo:j_hi + 1, i_lo:i_hi + 1] != r)
        if not sel.any():
            continue
        rows, cols = jj[sel], ii[sel]
        stamp[rows, cols] = r
        c = count[rows, cols]
        count[rows, cols] = np.where(c < 65535, c + 1, c)
        applied[rows, cols] += np.float32(rate[k])
        painted += int(sel.sum())
    return painted
