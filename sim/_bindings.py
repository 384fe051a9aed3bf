"""How a scenario's vehicle is put in the world and handed to its driver plugin.

- ``sim``: the in-process driver (:mod:`agrifleet.drivers.sim`) joins the trial's world as the vehicle's
  controller. Nothing but the trial's thread runs it, so trials with only these vehicles are deterministic
  and run as fast as the machine allows.
- ``tractor``: a simulated tractor ECU (:class:`~agrifleet.sim.tractor_ecu.TractorEcu`) controls the tractor
  in the world and serves the tractor link on a loopback UDP port; the ``tractor`` driver runs the guidance
  in its own thread against it, as on a real machine.
- ``mavlink``: a simulated autopilot (:class:`~agrifleet.sim.autopilot.SimAutopilot`) flies or drives the
  vehicle and speaks MAVLink on a loopback UDP port; the ``mavlink`` driver talks to it.

The last two exchange real datagrams with threads of their own, so their trials are *paced*: the world
runs against the wall clock at a speed factor, and results vary a little from run to run. The tractor
driver keeps its control period on the ECU's (simulated) clock and the autopilot lives on the world's, so
neither needs to know the speed factor. :func:`place_tractor_ecu` and :func:`place_autopilot` build only the
vehicle's end (``agrifleet demo`` runs the drivers in agent processes of their own).
"""
from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agrifleet.core.errors import ConfigError, ScenarioError
from agrifleet.core.implement import build_implement
from agrifleet.core.plugin import load
from agrifleet.drivers.base import Driver, GnssQuality

from ._faults import FaultableDriver
from .scenario import Scenario, VehicleEntry
from .sensors import Gnss
from .world import World

__all__ = ["PACED_DRIVERS", "Binding", "bind_vehicle", "place_autopilot", "place_tractor_ecu"]

logger = logging.getLogger(__name__)

PACED_DRIVERS = ("tractor", "mavlink")
PACED_HOLD_S = 0.25        # wall time a simulated ECU holds a paced world for an overdue driver
_QUALITY = {"rtk_fixed": GnssQuality.RTK_FIXED, "rtk_float": GnssQuality.RTK_FLOAT,
            "single": GnssQuality.SINGLE}


@dataclass(slots=True)
class Binding:
    """A vehicle in the world with its (fault-injectable) driver, GNSS receiver and what to close."""

    entry: VehicleEntry
    driver: FaultableDriver
    gnss: Gnss
    autopilots: list[Any] = field(default_factory=list)       # served by the paced runner
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for close in reversed(self.closers):
            try:
                close()
            except Exception:  # closing a half-built vehicle must not hide the trial's own error
                logger.debug("closing %s failed", self.entry.id, exc_info=True)


def _factory(name: str) -> Callable[..., Driver]:
    obj = load("agrifleet.drivers", name)
    return obj if inspect.isclass(obj) or callable(obj) else (lambda *a, **k: obj)


def _fleet_key(scenario: Scenario, entry: VehicleEntry, key: str) -> str:
    index = next(i for i, v in enumerate(scenario.fleet) if v.id == entry.id)
    return f"{scenario.source}: fleet[{index}].{key}"


def bind_vehicle(scenario: Scenario, entry: VehicleEntry, world: World, start: tuple[float, float, float],
                 control_period_s: float, telemetry_period_s: float, sysid: int) -> Binding:
    """Put ``entry`` into ``world`` at ``start`` (x, y, heading rad) with its driver. The ``sim`` driver is
    connected (it joins the world); the others connect once the world runs (they wait for the vehicle).
    Periods are of simulated time on every side of a link, so nothing here depends on a trial's pace."""
    try:
        if entry.driver == "sim":
            return _bind_sim(entry, world, start, control_period_s, telemetry_period_s)
        if entry.driver == "tractor":
            return _bind_tractor(entry, world, start, control_period_s, telemetry_period_s)
        return _bind_mavlink(entry, world, start, sysid)
    except TypeError as exc:     # an option the driver does not take
        raise ScenarioError(f"{_fleet_key(scenario, entry, 'options')}: {exc}") from None
    except ConfigError as exc:
        raise ScenarioError(f"{_fleet_key(scenario, entry, 'driver')}: {exc}") from None


def _bind_sim(entry: VehicleEntry, world: World, start: tuple[float, float, float], control_period_s: float,
              telemetry_period_s: float) -> Binding:
    driver = _factory("sim")(entry.id, None, world=world, spec=entry.spec, implement=entry.implement or None,
                             start_pose=start, gnss=entry.gnss, control_period_s=control_period_s,
                             telemetry_period_s=telemetry_period_s, clock=world.now, **entry.options)
    driver.connect()
    wrapped = FaultableDriver(driver, entry.spec)
    return Binding(entry, wrapped, driver.gnss, closers=[driver.close])


def _model(entry: VehicleEntry) -> Any:
    from .energy import payload_from_implement
    from .vehicles import model_for

    options = {"payload": payload_from_implement(build_implement(entry.implement))} if entry.implement else {}
    return model_for(entry.spec, **options)


def place_tractor_ecu(entry: VehicleEntry, world: World, start: tuple[float, float, float],
                      hold_s: float = PACED_HOLD_S) -> Any:
    """Put the tractor of ``entry`` into ``world`` at ``start`` under a simulated ECU serving the tractor
    link on a free loopback UDP port (started; see its ``url``). The ECU holds the paced world up to
    ``hold_s`` of wall time for an overdue driver. Returns the ``TractorEcu``."""
    from .tractor_ecu import TractorEcu

    if not entry.spec.kind.is_ground:
        raise ConfigError("the tractor driver drives ground vehicles only")
    model = _model(entry)
    with world.lock:
        model.place(*start, env=world)
        world.add_vehicle(entry.id, model)
        # The simulated ECU reports local metres (the link allows either): reporting WGS84 it could not say
        # where it stands before a plan gives the driver a frame, and the fleet plans the way from the yard
        # from where the vehicle says it is.
        gnss = Gnss(world.spawn_rng(), _QUALITY[entry.gnss])
        ecu = TractorEcu(world, entry.id, gnss=gnss, hold_s=hold_s)
    return ecu.start()


def _bind_tractor(entry: VehicleEntry, world: World, start: tuple[float, float, float],
                  control_period_s: float, telemetry_period_s: float) -> Binding:
    ecu = place_tractor_ecu(entry, world, start)
    binding = Binding(entry, None, ecu.gnss, closers=[ecu.close])  # type: ignore[arg-type]
    return _with_driver(binding, lambda: _factory("tractor")(
        entry.id, ecu.url, control_period_s=control_period_s, telemetry_period_s=telemetry_period_s,
        **entry.options))


def place_autopilot(entry: VehicleEntry, world: World, start: tuple[float, float, float],
                    sysid: int) -> tuple[Any, int]:
    """Put the vehicle of ``entry`` into ``world`` at ``start`` (its home) under a simulated autopilot
    (personality: ``options.autopilot``) listening for MAVLink on a free loopback UDP port. Returns the
    ``SimAutopilot`` (to be served by a ``Runner``) and the port."""
    import numpy as np

    from ._mav_links import Link
    from .autopilot import AutopilotConfig, SimAutopilot

    frame = world.frame
    assert frame is not None, "the scenario gives MAVLink vehicles a frame"
    personality = str(entry.options.get("autopilot", "ardupilot"))
    lon, lat = (float(v) for v in frame.to_wgs84(np.array([start[0], start[1]])))
    config = AutopilotConfig(autopilot=personality, home_lat_deg=lat, home_lon_deg=lon, sysid=sysid)
    link = Link("udpin:127.0.0.1:0", sysid=sysid, compid=1)
    implement = build_implement(entry.implement) if entry.implement else None
    gnss = Gnss(world.spawn_rng(), _QUALITY[entry.gnss], frame=frame)
    try:
        with world.lock:   # the autopilot puts the vehicle at home and becomes its controller
            ap = SimAutopilot(world, entry.id, _model(entry), config, links=[link], gnss=gnss,
                              implement=implement)
    except BaseException:
        link.close()
        raise
    return ap, link.local_port


def _bind_mavlink(entry: VehicleEntry, world: World, start: tuple[float, float, float],
                  sysid: int) -> Binding:
    ap, port = place_autopilot(entry, world, start, sysid)
    options = {k: v for k, v in entry.options.items() if k != "autopilot"}
    binding = Binding(entry, None, ap.gnss, autopilots=[ap], closers=[ap.close])  # type: ignore[arg-type]
    return _with_driver(binding, lambda: _factory("mavlink")(
        entry.id, f"udpout:127.0.0.1:{port}", target_system=sysid, implement=entry.implement or None,
        **options))


def _with_driver(binding: Binding, make_driver: Callable[[], Driver]) -> Binding:
    """``binding`` with the driver ``make_driver`` builds (closed with it); on failure the binding's
    simulated controllers are closed before the error goes on."""
    try:
        driver = make_driver()
    except BaseException:
        binding.close()
        raise
    binding.closers.append(driver.close)
    binding.driver = FaultableDriver(driver, binding.entry.spec)
    return binding
