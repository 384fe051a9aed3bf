"""Numpy reference of ``_swaths.pyx``: scan-line clipping of parallel swath lines against a polygon."""
from __future__ import annotations

import numpy as np

__all__ = ["angle_scan", "build_swaths", "scan_intervals"]


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


def _slant(centre: float, edge_a: float, edge_b: float, extension: float) -> float:
    if extension <= 0.0:
        return 0.0
    if abs(0.5 * (edge_a + edge_b) - centre) > 0.05 * abs(edge_a - edge_b) + 1e-6:
        return 0.0
    return min(extension, 0.5 * abs(edge_a - edge_b))


def _merge(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(starts, kind="stable")
    out0: list[float] = []
    out1: list[float] = []
    for s, e in zip(starts[order], ends[order]):
        if out0 and s <= out1[-1]:
            out1[-1] = max(out1[-1], e)
        else:
            out0.append(float(s))
            out1.append(float(e))
    return np.asarray(out0), np.asarray(out1)


def build_swaths(xs: np.ndarray, ys: np.ndarray, ring_offsets: np.ndarray, axs: np.ndarray, ays: np.ndarray,
                 a_offsets: np.ndarray, angle: float, centres: np.ndarray, width: float, nsub: int):
    """Swath pieces per line with their coverage extensions (see ``_swaths.pyx``)."""
    nxt = _next_index(np.asarray(ring_offsets), len(xs))
    along, across = _rotate(np.asarray(xs), np.asarray(ys), angle)
    anxt = _next_index(np.asarray(a_offsets), len(axs))
    a_along, a_across = _rotate(np.asarray(axs), np.asarray(ays), angle)
    half = 0.5 * width * (1.0 - 1e-6)
    strip = width / nsub
    subs = (np.arange(nsub) + 0.5) / nsub - 0.5
    rows = []
    for q, c in enumerate(np.asarray(centres, dtype=float)):
        _, p0, p1 = _pieces(along, across, nxt, np.array([c]))
        el, e0, e1 = _pieces(along, across, nxt, np.array([c - half, c + half]))
        from_edges = len(p0) == 0
        if from_edges:  # the centre line misses the field but the strip does not (a tip at the side)
            p0, p1 = _merge(e0, e1)
        if len(p0) == 0:
            continue
        _, r0, r1 = _pieces(a_along, a_across, anxt, np.array([c]))
        sl, s0, s1 = _pieces(along, across, nxt, c + width * subs)
        va = along[np.abs(across - c) < half]
        mids = 0.5 * (p0 + p1)
        owner = np.full(len(p0), -1)
        for k in range(len(r0)):
            owner[(mids >= r0[k]) & (mids <= r1[k]) & (owner < 0)] = k
        groups = []
        for k in range(len(r0)):
            if (owner == k).any():
                groups.append((np.flatnonzero(owner == k), k))
        if not from_edges:
            groups += [(np.array([i]), -1) for i in np.flatnonzero(owner < 0)]
        groups.sort(key=lambda g: p0[g[0][0]])
        for idx, room in groups:
            lo, hi = float(p0[idx].min()), float(p1[idx].max())
            reach = []
            for side in (0, 1):
                m = el == side
                hit = np.zeros(int(m.sum()), dtype=bool)
                for i in idx:
                    hit |= (e0[m] <= p1[i]) & (e1[m] >= p0[i])
                reach.append((float(e0[m][hit].min()) if hit.any() else lo,
                              float(e1[m][hit].max()) if hit.any() else hi))
            start = min(lo, reach[0][0], reach[1][0])
            end = max(hi, reach[0][1], reach[1][1])
            near = (va >= start - 2 * width) & (va <= end + 2 * width)
            tip_s = tip_e = False
            if near.any():
                vmin, vmax = float(va[near].min()), float(va[near].max())
                tip_s, tip_e = vmin < start, vmax > end
                start, end = min(start, vmin), max(end, vmax)
            if room >= 0:
                start, end = max(start, min(lo, float(r0[room]))), min(end, max(hi, float(r1[room])))
            else:
                start, end = lo, hi
            slant_s = 0.0 if tip_s else _slant(lo, reach[0][0], reach[1][0], lo - start)
            slant_e = 0.0 if tip_e else _slant(hi, reach[0][1], reach[1][1], end - hi)
            gain_s = strip * float(np.clip(np.minimum(s1, lo) - np.maximum(s0, start), 0, None).sum())
            gain_e = strip * float(np.clip(np.minimum(s1, end) - np.maximum(s0, hi), 0, None).sum())
            covered = strip * float(np.clip(np.minimum(s1, end) - np.maximum(s0, start), 0, None).sum())
            rows.append((q, lo, hi, start, end, slant_s, slant_e, gain_s, gain_e, covered))
    if not rows:
        return (np.zeros(0, np.int64),) + tuple(np.zeros(0) for _ in range(9))
    cols = list(zip(*rows))
    return (np.asarray(cols[0], dtype=np.int64),) + tuple(np.asarray(c, dtype=float) for c in cols[1:])
