"""Cells: groups of swaths on consecutive lines that a machine can work back and forth in one go.

Rather than decomposing the polygon first (boustrophedon cell decomposition) and clipping swaths per cell,
the cells are read off the swath pieces themselves: a piece continues the cell of the piece on the previous
line when each is the other's only overlapping neighbour (the sweep's connectivity does not change between
them: the critical points of a boustrophedon decomposition) and the straight connectors between their
ends stay in the field, so that the turns between them have room. An obstacle or an inlet therefore
splits the field exactly where it has to, at the resolution of one working width, for any swath angle.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from .swaths import Swath, SwathSet

__all__ = ["Cell", "split_cells"]


@dataclass(frozen=True, slots=True)
class Cell:
    """Swaths on consecutive lines, lowest line first."""

    swaths: tuple[Swath, ...]

    @property
    def length_m(self) -> float:
        return float(sum(s.length_m for s in self.swaths))


def split_cells(swath_set: SwathSet, clearance: BaseGeometry) -> list[Cell]:
    by_line: dict[int, list[int]] = defaultdict(list)
    sw = swath_set.swaths
    for i, s in enumerate(sw):
        by_line[s.line].append(i)
    succ: dict[int, list[int]] = defaultdict(list)
    pred: dict[int, list[int]] = defaultdict(list)
    for line, idx in by_line.items():
        for i in idx:
            for j in by_line.get(line + 1, ()):
                if sw[i].core_start_m <= sw[j].core_end_m and sw[j].core_start_m <= sw[i].core_end_m:
                    succ[i].append(j)
                    pred[j].append(i)
    candidates = [(i, succ[i][0]) for i in range(len(sw)) if len(succ[i]) == 1 and len(pred[succ[i][0]]) == 1]
    joined: dict[int, int] = {}
    if candidates:
        pairs = np.array(candidates)
        a, b = [sw[i] for i in pairs[:, 0]], [sw[j] for j in pairs[:, 1]]
        starts = _connectors(swath_set, [s.start_m for s in a], [s.across_m for s in a],
                             [s.start_m for s in b], [s.across_m for s in b])
        ends = _connectors(swath_set, [s.end_m for s in a], [s.across_m for s in a],
                           [s.end_m for s in b], [s.across_m for s in b])
        ok = shapely.covers(clearance, starts) & shapely.covers(clearance, ends)
        joined = {int(j): int(i) for (i, j), good in zip(candidates, ok) if good}
    cell_of: dict[int, int] = {}
    cells: list[list[Swath]] = []
    for i in sorted(range(len(sw)), key=lambda k: (sw[k].line, sw[k].start_m)):
        if i in joined and joined[i] in cell_of:
            cid = cell_of[joined[i]]
        else:
            cid = len(cells)
            cells.append([])
        cell_of[i] = cid
        cells[cid].append(sw[i])
    return [Cell(tuple(c)) for c in cells]


def _connectors(swath_set: SwathSet, a_along, a_across, b_along, b_across) -> np.ndarray:
    p = swath_set.to_world(np.asarray(a_along), np.asarray(a_across))
    q = swath_set.to_world(np.asarray(b_along), np.asarray(b_across))
    return shapely.linestrings(np.stack([p, q], axis=1))
