"""Failsafes of the simulated autopilot: low battery, lost ground station, geofence breach.

Each is checked at the control rate while the vehicle is armed, triggers once (it latches until the cause
clears), and asks for the action its parameters name (:class:`FailsafeAction`); the autopilot turns that
into a mode change: return to launch, hold, or land.

*Ground-station link.* Only messages from a component that has sent a ground-station heartbeat count, and
only once one has been seen (a vehicle nobody talks to has no link to lose). A ground station beats its
heart in wall time, so at ``--speed-factor K`` its 1 Hz heartbeat arrives every K simulated seconds; the
link is therefore lost when the timeout has passed in simulated time *and* three heartbeat periods
(at most the timeout) have passed in wall time. At K = 1 that is exactly the timeout.

*Geofence.* A cylinder around home (radius and ceiling parameters) and the polygons and circles of the
uploaded fence (``MAV_MISSION_TYPE_FENCE``: inclusion zones must hold the vehicle, exclusion zones must
not). A drone returns to launch, a ground vehicle holds, unless the parameters say otherwise.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Callable, Iterable

import shapely
from shapely.geometry import Point, Polygon

from ._mav_mission import MissionItem
from ._mav_params import FailsafeAction
from ._mav_proto import MavCmd

__all__ = ["FailsafeEvent", "Failsafes", "Fence"]

logger = logging.getLogger(__name__)

GCS_HEARTBEAT_WALL_S = 1.0
FENCE_TYPE_ALT, FENCE_TYPE_CIRCLE, FENCE_TYPE_POLYGON = 1, 2, 4


@dataclass(frozen=True, slots=True)
class FailsafeEvent:
    t_s: float
    kind: str                 # battery | gcs | fence
    action: FailsafeAction
    detail: str


class Fence:
    """Fence zones in the local frame, from the items of an uploaded fence."""

    def __init__(self) -> None:
        self.inclusion: list[Polygon] = []
        self.exclusion: list[Polygon] = []

    @property
    def has_zones(self) -> bool:
        return bool(self.inclusion or self.exclusion)

    def load(self, items: Iterable[MissionItem],
             to_local: Callable[[MissionItem], tuple[float, float, float] | None]) -> None:
        inclusion: list[Polygon] = []
        exclusion: list[Polygon] = []
        items = list(items)
        i = 0
        while i < len(items):
            item = items[i]
            cmd = item.command
            if cmd in (MavCmd.NAV_FENCE_POLYGON_VERTEX_INCLUSION, MavCmd.NAV_FENCE_POLYGON_VERTEX_EXCLUSION):
                n = int(item.param1)
                pts = [to_local(v) for v in items[i:i + n]]
                ring = [(p[0], p[1]) for p in pts if p is not None]
                if len(ring) >= 3:
                    poly = shapely.make_valid(Polygon(ring))
                    zones = inclusion if cmd == MavCmd.NAV_FENCE_POLYGON_VERTEX_INCLUSION else exclusion
                    zones.append(poly)
                i += max(n, 1)
                continue
            if cmd in (MavCmd.NAV_FENCE_CIRCLE_INCLUSION, MavCmd.NAV_FENCE_CIRCLE_EXCLUSION):
                c = to_local(item)
                if c is not None:
                    disc = Point(c[0], c[1]).buffer(float(item.param1), 64)
                    (inclusion if cmd == MavCmd.NAV_FENCE_CIRCLE_INCLUSION else exclusion).append(disc)
            i += 1
        for poly in inclusion + exclusion:
            shapely.prepare(poly)
        self.inclusion, self.exclusion = inclusion, exclusion

    def breach(self, x: float, y: float, height_m: float, home_xy: tuple[float, float],
               setting: Callable[[str, float], float], air: bool) -> str | None:
        """Why ``(x, y, height)`` is outside the fence, or None."""
        ftype = int(setting("fence_type", 7.0))
        radius = setting("fence_radius_m", 0.0)
        if ftype & FENCE_TYPE_CIRCLE and radius > 0:
            d = math.hypot(x - home_xy[0], y - home_xy[1])
            if d > radius:
                return f"{d:.0f} m from home, beyond the {radius:.0f} m fence radius"
        ceiling = setting("fence_alt_max_m", 0.0)
        if air and ftype & FENCE_TYPE_ALT and ceiling > 0 and height_m > ceiling:
            return f"{height_m:.0f} m high, above the {ceiling:.0f} m fence ceiling"
        if ftype & FENCE_TYPE_POLYGON:
            if self.inclusion and not any(shapely.contains_xy(p, x, y) for p in self.inclusion):
                return f"outside the inclusion fence at ({x:.1f}, {y:.1f})"
            for p in self.exclusion:
                if shapely.contains_xy(p, x, y):
                    return f"inside an exclusion zone at ({x:.1f}, {y:.1f})"
        return None


class Failsafes:
    """Failsafe state of one vehicle. ``check`` returns the failsafes that trigger now."""

    def __init__(self, sim_clock: Callable[[], float], wall_clock: Callable[[], float]) -> None:
        self._sim = sim_clock
        self._wall = wall_clock
        self.fence = Fence()
        self.gcs_seen = False
        self._gcs_sim = -math.inf
        self._gcs_wall = -math.inf
        self.active: set[str] = set()
        self.events: list[FailsafeEvent] = []

    def gcs_alive(self) -> None:
        """A ground station was heard from."""
        self.gcs_seen = True
        self._gcs_sim = self._sim()
        self._gcs_wall = self._wall()
        self.active.discard("gcs")

    def gcs_lost(self, timeout_s: float) -> bool:
        if not self.gcs_seen:
            return False
        wall_floor = min(timeout_s, 3.0 * GCS_HEARTBEAT_WALL_S)
        return self._sim() - self._gcs_sim > timeout_s and self._wall() - self._gcs_wall > wall_floor

    def reset(self) -> None:
        """Arming starts afresh: nothing latched."""
        self.active.clear()

    def check(self, *, armed: bool, landed: bool, air: bool, battery_frac: float, x: float, y: float,
              height_m: float, home_xy: tuple[float, float],
              setting: Callable[[str, float], float]) -> list[FailsafeEvent]:
        if not armed:
            return []
        t = self._sim()
        out: list[FailsafeEvent] = []

        def trigger(kind: str, key: str, detail: str) -> None:
            if kind in self.active:
                return
            self.active.add(kind)
            action = FailsafeAction(int(setting(key, float(FailsafeAction.RTL))))
            event = FailsafeEvent(t, kind, action, detail)
            self.events.append(event)
            logger.warning("failsafe %s at t=%.1f s: %s -> %s", kind, t, detail, action.name)
            out.append(event)

        low = self.battery_low_frac(setting)
        if not math.isnan(battery_frac) and not math.isnan(low):
            if battery_frac <= low:
                trigger("battery", "battery_action", f"battery {100 * battery_frac:.0f}% <= {100 * low:.0f}%")
        gcs_on = setting("gcs_enable", 1.0) > 0 and setting("gcs_action", 0.0) != FailsafeAction.NONE
        timeout = setting("gcs_timeout_s", 5.0)
        if gcs_on and not (air and landed) and self.gcs_lost(timeout):
            trigger("gcs", "gcs_action",
                    f"no ground station for {t - self._gcs_sim:.1f} s (timeout {timeout:g} s)")
        if setting("fence_enable", 1.0) > 0:
            why = self.fence.breach(x, y, height_m, home_xy, setting, air)
            if why is None:
                self.active.discard("fence")
            else:
                trigger("fence", "fence_action", why)
        return out

    @staticmethod
    def battery_low_frac(setting: Callable[[str, float], float]) -> float:
        """The low-battery threshold as a fraction of capacity (PX4 states it so; ArduPilot in mAh)."""
        frac = setting("battery_low_frac", math.nan)
        if not math.isnan(frac):
            return frac
        capacity = setting("battery_capacity_mah", 0.0)
        low = setting("battery_low_mah", 0.0)
        return low / capacity if capacity > 0 and low > 0 else math.nan
