"""The ground crew at the depots: refill and battery swap for a vehicle that stops at one.

A vehicle standing (or hovering) still within :data:`DEPOT_RADIUS_M` of a depot gets a full tank and a
full battery at once; the service time itself is not simulated (the plans budget for it). Shared by scenario
trials (:mod:`.runner`) and ``agrifleet demo``; callers hold the world's lock.
"""
from __future__ import annotations

import math
from collections.abc import Container, Iterable, Mapping
from typing import Any

from agrifleet.core.vehicle import VehicleSpec

from .world import World

__all__ = ["DEPOT_RADIUS_M", "serve_depots"]

DEPOT_RADIUS_M = 3.0          # a vehicle standing (or hovering) this close to a depot is served
STILL_MPS = 0.5               # ... when slower than this


def serve_depots(world: World, specs: Mapping[str, VehicleSpec], depots: Iterable[tuple[float, float]],
                 skip: Container[str] = ()) -> list[dict[str, Any]]:
    """Serve every vehicle of ``specs`` (not in ``skip``) that stands at a depot and needs it; returns one
    record per service (time, vehicle, where, what was left in the tank and the battery)."""
    depots = list(depots)
    served: list[dict[str, Any]] = []
    if not depots:
        return served
    for vid, spec in specs.items():
        s = world.state(vid)
        if vid in skip or abs(s.speed_mps) > STILL_MPS:
            continue
        if not any(math.hypot(s.x - x, s.y - y) <= DEPOT_RADIUS_M for x, y in depots):
            continue
        tank = spec.tank_l > 0 and s.tank_l < spec.tank_l - 0.5
        battery = spec.battery_wh > 0 and s.battery_wh < 0.98 * spec.battery_wh
        if tank or battery:
            served.append({"at_s": world.t_s, "vehicle": vid, "xy": [s.x, s.y], "tank_l": s.tank_l,
                           "battery_wh": s.battery_wh})
            s.tank_l, s.battery_wh = spec.tank_l, spec.battery_wh
    return served
