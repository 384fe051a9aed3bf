"""Numpy reference of ``_swaths.pyx``: scan-line clipping of parallel swath lines against a polygon."""
from __future__ import annotations

import numpy as np

__all__ = ["angle_scan", "scan_intervals"]


def _next_index(ring_offsets: np.ndarray, n: int) -> np.ndarray:
    nxt = np.arange(1, n + 1, dtype=np.int64)
    for a, b in zip(ring_offsets[:-1], ring_offsets[1:]):
        if b > a:
            nxt[b - 1] = a
    return nxt


def _rotate(xs: np.ndarray, ys: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    ca, sa = np.cos(angle), np.sin(angle)
    return xs * ca + ys * sa, -xs * sa + ys * ca


def _pieces(along: np.ndarray, across: np.ndarray, nxt: np.ndarray, lines: np.ndarray):
    a0, a1 = across[:, None], across[nxt][:, None]
    c = lines[None, :]
    hit = ((a0 <= c) & (c < a1)) | ((a1 <= c) & (c < a0))
    with np.errstate(divide="ignore", invalid="ignore"):
        x = along[:, None] + (c - a0) * (along[nxt] - along)[:, None] / (a1 - a0)
    x = np.where(hit, x, np.inf)
    x.sort(axis=0)
    counts = hit.sum(axis=0)
    out_line, out_x0, out_x1 = [], [], []
    for q in range(len(lines)):
        xs = x[: counts[q] - counts[q] % 2, q]
        starts, ends = xs[0::2], xs[1::2]
        keep = ends - starts > 1e-9
        out_line.append(np.full(int(keep.sum()), q, dtype=np.int64))
        out_x0.append(starts[keep])
        out_x1.append(ends[keep])
    return (np.concatenate(out_line) if out_line else np.zeros(0, np.int64),
            np.concatenate(out_x0) if out_x0 else np.zeros(0),
            np.concatenate(out_x1) if out_x1 else np.zeros(0))


def angle_scan(xs: np.ndarray, ys: np.ndarray, ring_offsets: np.ndarray, angles: np.ndarray,
               spacing: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    nxt = _next_index(np.asarray(ring_offsets), len(xs))
    n_a = len(angles)
    pieces = np.zeros(n_a, dtype=np.int64)
    length = np.zeros(n_a)
    nlines = np.zeros(n_a, dtype=np.int64)
    stagger = np.zeros(n_a)
    half = 0.5 * spacing * (1.0 - 1e-6)
    for k, angle in enumerate(angles):
        along, across = _rotate(np.asarray(xs), np.asarray(ys), angle)
        lo, hi = across.min(), across.max()
        nl = max(1, int(np.ceil((hi - lo) / spacing - 1e-9)))
        lines = lo + 0.5 * ((hi - lo) - (nl - 1) * spacing) + spacing * np.arange(nl)
        line, x0, x1 = _pieces(along, across, nxt, lines)
        el, e0, e1 = _pieces(along, across, nxt, np.concatenate([lines - half, lines + half]))
        el = el % nl
        total, drift, prev = float(np.sum(x1 - x0)), 0.0, None
        for q in range(nl):
            on = line == q
            if not on.any():
                prev = None
                continue
            first, last = x0[on].min(), x1[on].max()
            hit = (el == q) & (e1 >= first) & (e0 <= last)
            emin = min(first, e0[hit].min()) if hit.any() else first
            emax = max(last, e1[hit].max()) if hit.any() else last
            total += (first - emin) + (emax - last)
            if prev is not None:
                drift += 0.5 * (abs(emin - prev[0]) + abs(emax - prev[1]))
            prev = (emin, emax)
        pieces[k], length[k], nlines[k], stagger[k] = len(x0), total, nl, drift
    return pieces, length, nlines, stagger


def scan_intervals(xs: np.ndarray, ys: np.ndarray, ring_offsets: np.ndarray, angle: float,
                   offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    nxt = _next_index(np.asarray(ring_offsets), len(xs))
    along, across = _rotate(np.asarray(xs), np.asarray(ys), angle)
    return _pieces(along, across, nxt, np.asarray(offsets, dtype=float))
