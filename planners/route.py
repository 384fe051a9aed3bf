"""Route: the order in which swaths are driven, within each cell and from cell to cell.

Within a cell, consecutive swaths are driven in opposite directions (the machine turns at alternate ends).
When the turning circle is wider than the working width, turning into the next swath needs a bulb or a
fishtail; skipping lines avoids that. Candidate orders are generated -- plain boustrophedon, and "lands"
orders that skip at least ``ceil(2r / w) - 1`` lines, worked in blocks so that no jump is much wider than
needed -- in both sweep directions and both starting directions, and every candidate is costed with the
real turn curves (one batch call of the turn kernel). The cheapest wins.

Cells are then chained greedily from every possible start, costing each hop by the straight distance
from one cell's exit to the next cell's entry plus the next cell's own turns; the best chain wins.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .curves import shortest_lengths
from .decompose import Cell
from .swaths import SwathSet

__all__ = ["CellRoute", "lands_order", "candidate_orders", "route_cell", "order_cells"]


@dataclass(frozen=True, slots=True)
class CellRoute:
    """One way to work a cell: swath indices (into ``cell.swaths``) in driving order and their directions."""

    cell: Cell
    order: tuple[int, ...]
    directions: tuple[int, ...]   # +1 = along the swath direction, -1 = against it
    turn_cost_m: float
    entry: np.ndarray             # pose (x, y, heading) where the first swath starts
    exit: np.ndarray              # pose where the last swath ends


def lands_order(n: int, skip: int, block: int | None = None) -> list[int]:
    """Greedy order of ``n`` lines where consecutive lines are at least ``skip`` apart when possible.

    Worked in blocks of ``block`` lines (default: all): within a block, go forward to the nearest line at
    least ``skip`` ahead, else back to the nearest line at least ``skip`` behind, else the nearest left.
    """
    block = n if block is None or block <= 0 else block
    order: list[int] = []
    for lo in range(0, n, block):
        hi = min(n, lo + block)
        left = list(range(lo, hi))
        cur = left.pop(0) if not order or abs(order[-1] - lo) >= skip else _pick_far(left, order[-1], skip)
        if cur in left:
            left.remove(cur)
        order.append(cur)
        while left:
            ahead = [j for j in left if j - cur >= skip]
            behind = [j for j in left if cur - j >= skip]
            if ahead:
                nxt = min(ahead)
            elif behind:
                nxt = max(behind)
            else:
                nxt = min(left, key=lambda j: (-abs(j - cur), j))
            left.remove(nxt)
            order.append(nxt)
            cur = nxt
    return order


def _pick_far(left: list[int], last: int, skip: int) -> int:
    far = [j for j in left if abs(j - last) >= skip]
    return min(far) if far else left[-1]


def candidate_orders(n: int, min_skip: int) -> list[list[int]]:
    """Distinct candidate orders of ``n`` lines (and their mirror images)."""
    seeds = [list(range(n))]
    if min_skip > 1 and n > 2:
        seeds.append(list(range(0, n, 2)) + list(range(n - 1 - (n % 2 == 1), 0, -2)))  # out on evens, back on odds
        for block in (2 * min_skip + 1, 2 * min_skip + 2, 3 * min_skip + 1, n):
            seeds.append(lands_order(n, min_skip, block))
        seeds.append(lands_order(n, min_skip + 1, 2 * min_skip + 3))
    out: list[list[int]] = []
    seen: set[tuple[int, ...]] = set()
    for seq in seeds + [[n - 1 - i for i in s] for s in seeds]:
        key = tuple(seq)
        if key not in seen:
            seen.add(key)
            out.append(seq)
    return out


def _poses(swath_set: SwathSet, cell: Cell) -> tuple[np.ndarray, np.ndarray]:
    """Start and end poses of every swath of ``cell`` driven along (+1) the swath direction."""
    along_s = np.array([s.start_m for s in cell.swaths])
    along_e = np.array([s.end_m for s in cell.swaths])
    across = np.array([s.across_m for s in cell.swaths])
    heading = np.full(len(across), swath_set.angle_rad)
    start = np.column_stack([swath_set.to_world(along_s, across), heading])
    end = np.column_stack([swath_set.to_world(along_e, across), heading])
    return start, end


def _flip(pose: np.ndarray) -> np.ndarray:
    out = pose.copy()
    out[..., 2] = out[..., 2] + math.pi
    return out


def route_cell(swath_set: SwathSet, cell: Cell, radius_m: float, curve_kind: str) -> list[CellRoute]:
    """The cheapest way to work ``cell`` for each of its entry corners (at most four routes)."""
    n = len(cell.swaths)
    start, end = _poses(swath_set, cell)
    min_skip = max(1, math.ceil(2.0 * radius_m / swath_set.width_m - 1e-9))
    orders = candidate_orders(n, min_skip)
    seqs, dirs = [], []
    for order in orders:
        for first_dir in (1, -1):
            seqs.append(order)
            dirs.append([first_dir * (1 if k % 2 == 0 else -1) for k in range(n)])
    costs = np.zeros(len(seqs))
    if n > 1:
        exits, entries, owner = [], [], []
        for c, (order, d) in enumerate(zip(seqs, dirs)):
            o = np.asarray(order)
            dd = np.asarray(d)
            ex = np.where((dd[:-1] > 0)[:, None], end[o[:-1]], _flip(start[o[:-1]]))
            en = np.where((dd[1:] > 0)[:, None], start[o[1:]], _flip(end[o[1:]]))
            exits.append(ex)
            entries.append(en)
            owner.append(np.full(len(ex), c))
        lengths, _, _ = shortest_lengths(np.concatenate(exits), np.concatenate(entries), radius_m, curve_kind)
        costs = np.bincount(np.concatenate(owner), weights=lengths, minlength=len(seqs))
    best: dict[tuple[int, int], int] = {}
    for c, (order, d) in enumerate(zip(seqs, dirs)):
        corner = (order[0], d[0])
        if corner not in best or costs[c] < costs[best[corner]]:
            best[corner] = c
    routes = []
    for c in sorted(best.values(), key=lambda k: costs[k]):
        order, d = seqs[c], dirs[c]
        entry = start[order[0]] if d[0] > 0 else _flip(end[order[0]])
        exit_ = end[order[-1]] if d[-1] > 0 else _flip(start[order[-1]])
        routes.append(CellRoute(cell, tuple(order), tuple(d), float(costs[c]), entry, exit_))
    return routes


def order_cells(options: list[list[CellRoute]], start_xy: np.ndarray | None = None) -> list[CellRoute]:
    """Chain cells (each with its route options) into one sequence with short hops between them."""
    if not options:
        return []
    if len(options) == 1:
        return [options[0][0]] if start_xy is None else [min(
            options[0], key=lambda r: r.turn_cost_m + float(np.hypot(*(r.entry[:2] - start_xy))))]
    best_total, best_chain = math.inf, None
    starts = [(c, r) for c, opts in enumerate(options) for r in opts]
    for c0, r0 in starts:
        total = r0.turn_cost_m + (float(np.hypot(*(r0.entry[:2] - start_xy))) if start_xy is not None else 0.0)
        chain, left, cur = [r0], set(range(len(options))) - {c0}, r0
        while left:
            hop, pick = min(((float(np.hypot(*(r.entry[:2] - cur.exit[:2]))) + r.turn_cost_m, (c, r))
                             for c in left for r in options[c]), key=lambda t: t[0])
            total += hop
            chain.append(pick[1])
            left.discard(pick[0])
            cur = pick[1]
            if total >= best_total:
                break
        if not left and total < best_total:
            best_total, best_chain = total, chain
    return best_chain or [opts[0] for opts in options]
