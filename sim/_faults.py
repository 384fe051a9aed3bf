"""Faults on schedule: broken vehicles, degraded GNSS, cut radio links, wind gusts.

:class:`FaultSchedule` applies the scenario's faults when the trial's clock reaches them and undoes the
temporary ones when they end, and records what it did for the report. It acts only through public
handles: a vehicle's :class:`FaultableDriver` (every driver of a trial is wrapped in one), its GNSS
receiver, the world's wind and controllers, and the loopback network's link state.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from agrifleet.core.errors import CommandRejected, DriverError
from agrifleet.core.plan import Plan
from agrifleet.core.vehicle import AirControl, GroundControl, VehicleSpec, VehicleState
from agrifleet.drivers.base import Capabilities, Driver, GnssQuality, TelemetrySample

from ._scenario_parts import Fault, GnssFault, LinkLoss, VehicleFailure, WindGust
from .world import World

__all__ = ["FaultSchedule", "FaultableDriver"]

logger = logging.getLogger(__name__)

_QUALITY = {"rtk_float": GnssQuality.RTK_FLOAT, "single": GnssQuality.SINGLE}


class FaultableDriver(Driver):
    """A driver that can break: it delegates to ``inner`` until :meth:`fail`, then refuses everything and
    its telemetry raises (the agent turns that into a FAULT event, the fleet into re-planning).

    It also tells the agent the vehicle's spec, which the fleet manager uses for turning radii and
    transit speeds when it re-plans."""

    def __init__(self, inner: Driver, spec: VehicleSpec) -> None:
        super().__init__(inner.vehicle_id, inner.url)
        self.inner = inner
        self.spec = spec
        self.name = getattr(inner, "name", "") or type(inner).__name__
        self.failure = ""

    def fail(self, reason: str) -> None:
        self.failure = reason

    def _check(self, call: str) -> None:
        if self.failure:
            raise CommandRejected(call, "VEHICLE_FAILURE", self.failure)

    @property
    def capabilities(self) -> Capabilities:
        return self.inner.capabilities

    def connect(self, timeout_s: float = 10.0) -> None:
        self._check("connect()")
        self.inner.connect(timeout_s)

    def upload(self, plan: Plan, start_index: int = 0) -> None:
        self._check("upload()")
        self.inner.upload(plan, start_index)

    def start(self) -> None:
        self._check("start()")
        self.inner.start()

    def pause(self) -> None:
        self._check("pause()")
        self.inner.pause()

    def resume(self) -> None:
        self._check("resume()")
        self.inner.resume()

    def abort(self) -> None:
        self._check("abort()")
        self.inner.abort()

    def return_home(self) -> None:
        self._check("return_home()")
        self.inner.return_home()

    def estop(self) -> None:
        self._check("estop()")
        self.inner.estop()

    def telemetry(self, timeout_s: float = 0.0) -> Iterator[TelemetrySample]:
        if self.failure:
            raise DriverError("telemetry()", "VEHICLE_FAILURE", self.failure)
        return self.inner.telemetry(timeout_s)

    def close(self) -> None:
        self.inner.close()


class _Halt:
    """The controller of a broken vehicle: a ground machine stops, a drone comes straight down."""

    def __init__(self, world: World, vehicle_id: str) -> None:
        self.world, self.vehicle_id = world, vehicle_id

    def __call__(self, t_s: float, state: VehicleState) -> Any:
        model = self.world.model(self.vehicle_id)
        if model.kind.is_ground:
            return GroundControl(steer_rad=state.steer_rad)
        if state.landed:
            model.disarm()    # type: ignore[attr-defined]
            return AirControl()
        return AirControl(vz_mps=-1.5)


@dataclass(slots=True)
class VehicleHandles:
    """What faults act on for one vehicle."""

    driver: FaultableDriver
    gnss: Any                                   # agrifleet.sim.sensors.Gnss
    silence: Callable[[], None]                 # stop serving the vehicle's agent (its computer died)


@dataclass(slots=True)
class _Active:
    fault: Fault
    undo: Callable[[], None] | None


@dataclass(slots=True)
class FaultSchedule:
    """Applies ``faults`` (sorted by time) to ``world`` and the vehicles of ``handles``."""

    faults: tuple[Fault, ...]
    world: World
    handles: dict[str, VehicleHandles]
    applied: list[dict[str, Any]] = field(default_factory=list)
    _next: int = 0
    _active: list[_Active] = field(default_factory=list)
    _links: dict[str, list[tuple[float, float]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for f in self.faults:
            if isinstance(f, LinkLoss):
                self._links.setdefault(f.vehicle, []).append((f.at_s, f.end_s))

    def link_down(self, vehicle: str) -> bool:
        """Is ``vehicle``'s fleet link cut now? (the loopback network asks for every frame)"""
        t = self.world.t_s
        return any(a <= t < b for a, b in self._links.get(vehicle, ()))

    def update(self) -> None:
        """Apply the faults that are due and undo those that ended."""
        t = self.world.t_s + 1e-9
        for act in [a for a in self._active if a.fault.end_s <= t]:
            self._active.remove(act)
            if act.undo is not None:
                act.undo()
        while self._next < len(self.faults) and self.faults[self._next].at_s <= t:
            fault = self.faults[self._next]
            self._next += 1
            undo = self._apply(fault)
            done = {**fault.to_dict(), "applied_at_s": round(self.world.t_s, 6)}
            if fault.vehicle:
                s = self.world.state(fault.vehicle)
                done["xy"] = [round(s.x, 3), round(s.y, 3)]
            self.applied.append(done)
            if math.isfinite(fault.end_s):
                self._active.append(_Active(fault, undo))

    def _apply(self, fault: Fault) -> Callable[[], None] | None:
        logger.info("t=%.1f fault: %s", self.world.t_s, fault.to_dict())
        if isinstance(fault, WindGust):
            before = self.world.wind
            self.world.wind = fault.wind(before.gust_tau_s)

            def calm() -> None:
                self.world.wind = before
            return calm
        h = self.handles[fault.vehicle]
        if isinstance(fault, VehicleFailure):
            h.driver.fail(f"vehicle failure injected at {self.world.t_s:.1f} s")
            with self.world.lock:
                self.world.set_controller(fault.vehicle, _Halt(self.world, fault.vehicle))
            if fault.silent:
                h.silence()
            return None
        if isinstance(fault, GnssFault):
            gnss = h.gnss
            if fault.quality == "none":
                gnss.outages = tuple(sorted((*gnss.outages, (fault.at_s, fault.end_s))))
                return None
            before_q = gnss.quality
            gnss.quality = _QUALITY[fault.quality]

            def restore() -> None:
                gnss.quality = before_q
            return restore
        return None          # link loss: link_down() answers from the schedule
