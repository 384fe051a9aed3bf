"""Cutting one path into consecutive pieces whose finish times agree (the partition planner's helper).

A piece's finish time is whatever the caller says it is (a tractor's driving time, a drone's sorties with
their refills), which is why the cut is found by iteration rather than by formula: cut in proportion to
each vehicle's expected pace, measure the pieces, take each vehicle's measured pace (seconds per unit of
the path), cut again. Paces are nearly constant, so a few rounds settle; the best round is kept.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from agrifleet.core.plan import PATH_DTYPE

__all__ = ["Balanced", "balance", "cut_path", "spread"]

logger = logging.getLogger(__name__)


def spread(times: Sequence[float]) -> float:
    """How far apart finish times are: ``(max - min) / max`` (0 when all agree)."""
    t = np.asarray(times, dtype=float)
    return float((t.max() - t.min()) / t.max()) if len(t) and t.max() > 0 else 0.0


def cut_path(path: np.ndarray, u: np.ndarray, cuts: Sequence[float]) -> list[np.ndarray]:
    """``path`` cut at positions ``cuts`` of the increasing per-sample coordinate ``u`` (e.g. cumulative
    time). A cut inside a stretch inserts an interpolated sample that ends one piece and starts the next
    (with the stretch's attributes)."""
    n = len(path)
    bounds: list[tuple[int, np.ndarray | None]] = []
    for c in cuts:
        i = int(np.clip(np.searchsorted(u, c, side="right") - 1, 0, n - 2))
        span = u[i + 1] - u[i]
        frac = float(np.clip((c - u[i]) / span, 0.0, 1.0)) if span > 0 else 0.0
        sample = path[i:i + 1].copy()
        for name in ("x", "y", "z"):
            sample[name] = path[name][i] + (path[name][i + 1] - path[name][i]) * frac
        bounds.append((i, sample))
    pieces = []
    first = path[:1]
    last_i = 0
    for i, sample in bounds:
        pieces.append(np.concatenate([first, path[last_i + 1:i + 1], sample]))
        first, last_i = sample, i
    pieces.append(np.concatenate([first, path[last_i + 1:]]))
    return [p if p.dtype == PATH_DTYPE else p.astype(PATH_DTYPE) for p in pieces]


@dataclass(frozen=True, slots=True)
class Balanced:
    shares: np.ndarray          # share of the path per vehicle
    times_s: list[float]
    results: list[Any]          # what the evaluation made of each piece (plans)

    @property
    def spread(self) -> float:
        return spread(self.times_s)


def balance(path: np.ndarray, u: np.ndarray, paces: Sequence[float],
            evaluate: Callable[[list[np.ndarray]], tuple[list[float], list[Any]]], *, tolerance: float = 0.05,
            rounds: int = 6) -> Balanced:
    """Cut ``path`` into ``len(paces)`` pieces (``paces``: expected seconds per unit of ``u`` for each
    vehicle) so that the finish times ``evaluate`` reports agree within ``tolerance``; of the cuts that do,
    the one that finishes soonest (else the most even one)."""
    k = len(paces)
    pace = np.maximum(np.asarray(paces, dtype=float), 1e-12)
    total = float(u[-1] - u[0])
    tried: list[Balanced] = []
    for r in range(max(1, rounds)):
        shares = (1.0 / pace) / np.sum(1.0 / pace)
        cuts = u[0] + total * np.cumsum(shares)[:-1]
        pieces = cut_path(path, u, cuts) if k > 1 else [path]
        times, results = evaluate(pieces)
        now = Balanced(shares, list(times), list(results))
        tried.append(now)
        logger.debug("balance round %d: times %s, spread %.3f", r, np.round(times, 0).tolist(), now.spread)
        # one correction from measured paces even when the first cut is within tolerance: finish times jump
        # with whole sorties, so the first cut that passes is rarely the one that finishes soonest
        if k == 1 or (now.spread <= tolerance and r >= 1):
            break
        measured = np.asarray(times, dtype=float) / np.maximum(shares * total, 1e-12)
        pace = np.where(np.asarray(times) > 0, measured, pace)
    good = [b for b in tried if b.spread <= tolerance]
    if good:
        return min(good, key=lambda b: max(b.times_s))
    return min(tried, key=lambda b: b.spread)
