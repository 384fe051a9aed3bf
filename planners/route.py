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
from functools import lru_cache

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
    base = np.array(_candidate_orders(n, min_skip), dtype=np.int64)
    orders = np.concatenate([base, base])                      # each order with both first directions
    alternate = np.where(np.arange(n) % 2 == 0, 1, -1)
    dirs = np.concatenate([np.tile(alternate, (len(base), 1)), np.tile(-alternate, (len(base), 1))])
    costs = np.zeros(len(orders))
    if n > 1:
        fwd = dirs > 0
        exit_all = np.where(fwd[..., None], end[orders], _flip(start[orders]))
        entry_all = np.where(fwd[..., None], start[orders], _flip(end[orders]))
        lengths, _, _ = shortest_lengths(exit_all[:, :-1].reshape(-1, 3), entry_all[:, 1:].reshape(-1, 3),
                                         radius_m, curve_kind)
        costs = lengths.reshape(len(orders), n - 1).sum(axis=1)
    best: dict[tuple[int, int], int] = {}
    for c in range(len(orders)):
        corner = (int(orders[c, 0]), int(dirs[c, 0]))
        if corner not in best or costs[c] < costs[best[corner]]:
            best[corner] = c
    routes = []
    for c in sorted(best.values(), key=lambda k: costs[k]):
        order, d = orders[c], dirs[c]
        entry = start[order[0]] if d[0] > 0 else _flip(end[order[0]])
        exit_ = end[order[-1]] if d[-1] > 0 else _flip(start[order[-1]])
        routes.append(CellRoute(cell, tuple(int(i) for i in order), tuple(int(x) for x in d), float(costs[c]),
                                entry, exit_))
    return routes


@lru_cache(maxsize=512)
def _candidate_orders(n: int, min_skip: int) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(o) for o in candidate_orders(n, min_skip))


def order_cells(options: list[list[CellRoute]], start_xy: np.ndarray | None = None) -> list[CellRoute]:
    """Chain cells (each with its route options) into one sequence with short hops between them.

    Greedy from every possible first route, each hop costed by the straight distance from one cell's
    exit to the next route's entry plus that route's own turns; the cheapest chain wins.
    """
    if not options:
        return []
    flat = [(c, r) for c, opts in enumerate(options) for r in opts]
    cell = np.array([c for c, _ in flat])
    entry = np.array([r.entry[:2] for _, r in flat])
    exit_ = np.array([r.exit[:2] for _, r in flat])
    own = np.array([r.turn_cost_m for _, r in flat])
    hop = np.hypot(*(entry[None, :, :] - exit_[:, None, :]).transpose(2, 0, 1)) + own[None, :]
    first = own + (np.hypot(*(entry - start_xy).T) if start_xy is not None else 0.0)
    n_cells = len(options)
    best_total, best_chain = math.inf, None
    for k0 in np.argsort(first):
        total = float(first[k0])
        if total >= best_total:
            break
        used = np.zeros(n_cells, dtype=bool)
        used[cell[k0]] = True
        chain, cur = [int(k0)], int(k0)
        while not used.all() and total < best_total:
            cost = np.where(used[cell], np.inf, hop[cur])
            cur = int(np.argmin(cost))
            total += float(cost[cur])
            used[cell[cur]] = True
            chain.append(cur)
        if used.all() and total < best_total:
            best_total, best_chain = total, chain
    assert best_chain is not None
    return [flat[k][1] for k in best_chain]
