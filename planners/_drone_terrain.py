"""Terrain following for drone plans: heights above ground per waypoint from a height map.

A plan's ``z`` is the least height above ground. Over a slope the drone must climb before a rise (at its
speed, the ground may rise faster than it can climb) and may only come down as fast as it descends after a
crest; the profile that does both is two running maxima of linearly decaying targets, one forward in time
and one backward, and never puts the drone lower than planned.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np
from agrifleet.core.errors import ConfigError

from ._drone_route import densify

__all__ = ["Terrain", "follow_terrain", "ground_heights"]


class Terrain(Protocol):
    """A height map: ground height (m) at a point, e.g. :class:`agrifleet.sim.world.HeightMap`."""

    def height_at(self, x: float, y: float) -> float: ...


def ground_heights(terrain: Terrain | Callable[[np.ndarray, np.ndarray], np.ndarray],
                   x: np.ndarray, y: np.ndarray) -> np.ndarray:
    if hasattr(terrain, "height_at"):
        return np.array([terrain.height_at(float(a), float(b)) for a, b in zip(x, y)], dtype=float)
    return np.asarray(terrain(x, y), dtype=float).reshape(len(x))


def follow_terrain(path: np.ndarray, terrain: Terrain | Callable[[np.ndarray, np.ndarray], np.ndarray], *,
                   step_m: float = 5.0, climb_mps: float = 2.0, descent_mps: float = 2.0) -> np.ndarray:
    """The path sampled at least every ``step_m`` with heights above ground that follow the terrain.

    The planned height (``z``) is a least height above ground. Where the ground rises faster than the
    drone climbs at its speed, it starts climbing early; after a crest it comes down no faster than it
    descends; so it is never lower than planned, and never asked for more than it can fly."""
    if not (climb_mps > 0 and descent_mps > 0 and step_m > 0):
        raise ConfigError("terrain following: step, climb and descent rates must be > 0")
    out = densify(path, step_m)
    ground = ground_heights(terrain, out["x"], out["y"])
    if not np.isfinite(ground).all():
        raise ConfigError("terrain following: the height map gave a non-finite height")
    speed = np.maximum(np.abs(out["speed"][:-1].astype(float)), 1e-3)
    t = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(out["x"]), np.diff(out["y"])) / speed)])
    want = ground + out["z"].astype(float)
    # least altitude reachable from every earlier target descending at the rate, then from every later
    # target climbing at the rate (both as running maxima of a linear decay)
    fwd = np.maximum.accumulate(want + descent_mps * t) - descent_mps * t
    alt = (np.maximum.accumulate((fwd - climb_mps * t)[::-1])[::-1]) + climb_mps * t
    out["z"] = alt - ground
    return out

