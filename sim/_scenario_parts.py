"""The smaller tables of a scenario file: run settings, wind, vehicle spec overrides, faults, criteria.

Each ``read_*`` function takes the :class:`~._toml_node.Node` of its table, checks every value (naming the
key path in the error) and returns a frozen dataclass.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from agrifleet.core.errors import ConfigError
from agrifleet.core.vehicle import VehicleSpec
from agrifleet.sim.vehicles import EXAMPLE_DRONE, EXAMPLE_ROVER, EXAMPLE_TRACTOR
from agrifleet.sim.world import Wind

from ._toml_node import Node, fail, show

__all__ = ["DRIVERS", "FAULT_KINDS", "GNSS_QUALITIES", "KINDS", "Criteria", "Fault", "GnssFault", "LinkLoss",
           "RunSpec", "VehicleFailure", "WindGust", "read_criteria", "read_fault", "read_run", "read_spec",
           "read_wind"]

KINDS = ("tractor", "rover", "multirotor")
DRIVERS = ("sim", "tractor", "mavlink")
GNSS_QUALITIES = ("rtk_fixed", "rtk_float", "single", "none")
FAULT_KINDS = ("vehicle_failure", "gnss", "link_loss", "wind_gust")
EXAMPLES = {"tractor": EXAMPLE_TRACTOR, "rover": EXAMPLE_ROVER, "multirotor": EXAMPLE_DRONE}


# --- run settings ------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RunSpec:
    """How the trial is run. Periods are of simulated time and rounded to whole physics steps."""

    time_limit_s: float = 3600.0       # stop here when the work is not done
    fleet_period_s: float = 0.1        # the agents and the dispatcher are served this often
    control_period_s: float = 0.1      # on-board guidance rate
    telemetry_period_s: float = 0.2    # driver telemetry samples
    measure_period_s: float = 0.2      # cross-track error and geofence checks
    coverage_cell_m: float = 0.2       # as-applied raster
    replan_after_s: float = 10.0       # a silent vehicle's work is re-planned after this
    heartbeat_s: float = 1.0           # fleet link heartbeats ...
    liveness: int = 3                  # ... a peer silent for this many is lost
    settle_m: float = 10.0             # cross-track error is measured from this far into a working pass


def read_run(node: Node, dt_s: float) -> RunSpec:
    values: dict[str, Any] = {}
    for name in ("time_limit_s", "fleet_period_s", "control_period_s", "telemetry_period_s",
                 "measure_period_s", "heartbeat_s"):
        values[name] = node.number(name, getattr(RunSpec(), name), minimum=dt_s)
    values["coverage_cell_m"] = node.number("coverage_cell_m", 0.2, above=0.0, maximum=5.0)
    values["replan_after_s"] = node.number("replan_after_s", 10.0, minimum=0.0)
    values["settle_m"] = node.number("settle_m", 10.0, minimum=0.0)
    values["liveness"] = node.integer("liveness", 3, minimum=1, maximum=100)
    node.finish()
    return RunSpec(**values)


def read_wind(node: Node) -> Wind:
    speed = node.number("speed_mps", 0.0, minimum=0.0, maximum=60.0)
    towards = node.number("towards_deg", 0.0)
    sigma = node.number("gust_sigma_mps", 0.0, minimum=0.0, maximum=30.0)
    tau = node.number("gust_tau_s", 5.0, above=0.0)
    node.finish()
    return Wind.from_speed(speed, towards, sigma, tau)


# --- vehicle spec overrides --------------------------------------------------------------------------------

_POSITIVE = ("work_speed_mps", "transit_speed_mps", "max_speed_mps", "max_accel_mps2", "max_steer_rate_rad_s",
             "steer_time_constant_s")
_NON_NEGATIVE = ("min_turn_radius_m", "hitch_offset_m", "implement_offset_m", "empty_mass_kg", "tank_l",
                 "battery_wh", "cruise_alt_m", "wheelbase_m", "max_steer_rad")
_GROUND_POSITIVE = ("wheelbase_m", "max_steer_rad")    # the on-board guidance steers with these


def read_spec(node: Node, vehicle_id: str, kind: str) -> VehicleSpec:
    """The example machine of ``kind`` with the overrides of ``node`` (keys of :class:`VehicleSpec`)."""
    base = EXAMPLES[kind]
    ground = kind != "multirotor"
    values: dict[str, Any] = {}
    for name in node.data:
        if name in _POSITIVE or (ground and name in _GROUND_POSITIVE):
            values[name] = node.number(name, above=0.0)
        elif name in _NON_NEGATIVE:
            values[name] = node.number(name, minimum=0.0)
        elif name == "reverse_allowed":
            values[name] = node.flag(name)
        elif name == "capabilities":
            values[name] = frozenset(node.strings(name))
    node.finish()
    if "max_steer_rad" in values and values["max_steer_rad"] >= math.pi / 2:
        raise node.error("max_steer_rad", f"must be < {math.pi / 2:.4f} (90 degrees), got "
                                          f"{show(values['max_steer_rad'])}")
    geometry = "wheelbase_m" in values or "max_steer_rad" in values
    if ground and geometry and "min_turn_radius_m" not in values:
        values["min_turn_radius_m"] = 0.0     # follow the new geometry rather than the example's radius
    try:
        return replace(base, name=vehicle_id, **values)
    except ConfigError as exc:
        raise fail(node.source, node.path, str(exc)) from None


# --- faults ---------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class VehicleFailure:
    """The vehicle breaks down and stops where it is. It reports the fault (the fleet re-plans its work at
    once), or with ``silent`` its computer dies too (the fleet notices the silence first)."""

    kind: ClassVar[str] = "vehicle_failure"
    at_s: float
    vehicle: str
    silent: bool = False

    @property
    def end_s(self) -> float:
        return math.inf

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "at_s": self.at_s, "vehicle": self.vehicle, "silent": self.silent}


@dataclass(frozen=True, slots=True)
class GnssFault:
    """The vehicle's GNSS drops to ``quality`` (rtk_float, single, or none: an outage) for ``duration_s``."""

    kind: ClassVar[str] = "gnss"
    at_s: float
    vehicle: str
    quality: str
    duration_s: float

    @property
    def end_s(self) -> float:
        return self.at_s + self.duration_s

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "at_s": self.at_s, "vehicle": self.vehicle, "quality": self.quality,
                "duration_s": self.duration_s}


@dataclass(frozen=True, slots=True)
class LinkLoss:
    """Nothing goes over the vehicle's fleet link (both ways) for ``duration_s``."""

    kind: ClassVar[str] = "link_loss"
    at_s: float
    vehicle: str
    duration_s: float

    @property
    def end_s(self) -> float:
        return self.at_s + self.duration_s

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "at_s": self.at_s, "vehicle": self.vehicle, "duration_s": self.duration_s}


@dataclass(frozen=True, slots=True)
class WindGust:
    """The wind over the whole farm becomes ``speed_mps`` towards ``towards_deg`` (with gusts of
    ``gust_sigma_mps``) for ``duration_s``, then returns to the scenario's wind."""

    kind: ClassVar[str] = "wind_gust"
    at_s: float
    duration_s: float
    speed_mps: float
    towards_deg: float = 0.0
    gust_sigma_mps: float = 0.0
    vehicle: str = ""

    @property
    def end_s(self) -> float:
        return self.at_s + self.duration_s

    def wind(self, tau_s: float) -> Wind:
        return Wind.from_speed(self.speed_mps, self.towards_deg, self.gust_sigma_mps, tau_s)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "at_s": self.at_s, "duration_s": self.duration_s,
                "speed_mps": self.speed_mps, "towards_deg": self.towards_deg,
                "gust_sigma_mps": self.gust_sigma_mps}


Fault = VehicleFailure | GnssFault | LinkLoss | WindGust


def read_fault(node: Node, vehicles: Sequence[str]) -> Fault:
    kind = node.text("kind", choices=FAULT_KINDS)
    at_s = node.number("at_s", minimum=0.0)
    if kind == "wind_gust":
        if node.has("vehicle"):
            raise node.error("vehicle", "a wind gust blows over the whole farm; leave vehicle out")
        fault: Fault = WindGust(at_s, node.number("duration_s", above=0.0),
                                node.number("speed_mps", minimum=0.0, maximum=60.0),
                                node.number("towards_deg", 0.0),
                                node.number("gust_sigma_mps", 0.0, minimum=0.0))
        node.finish()
        return fault
    vehicle = node.text("vehicle")
    if vehicle not in vehicles:
        raise node.error("vehicle", f"no vehicle with id {vehicle!r} in the fleet "
                                    f"(fleet: {', '.join(vehicles)})")
    if kind == "vehicle_failure":
        fault = VehicleFailure(at_s, vehicle, node.flag("silent", False))
    elif kind == "gnss":
        fault = GnssFault(at_s, vehicle, node.text("quality", choices=GNSS_QUALITIES[1:]),
                          node.number("duration_s", above=0.0))
    else:
        fault = LinkLoss(at_s, vehicle, node.number("duration_s", above=0.0))
    node.finish()
    return fault


# --- acceptance criteria -----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Criteria:
    """What a trial must achieve; ``None`` (or ``False``) leaves a criterion out."""

    coverage_min: float | None = None          # as-applied share of every job's field
    overlap_max: float | None = None           # share of every job's field applied twice or more
    cross_track_rms_max_m: float | None = None  # every vehicle, on its swaths (straight working passes)
    cross_track_max_m: float | None = None
    no_geofence_breach: bool = False
    geofence_margin_m: float = 2.0             # the fence: the fields grown by this much
    done_within_s: float | None = None         # every job complete by then

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def read_criteria(node: Node) -> Criteria:
    c = Criteria(
        coverage_min=node.number("coverage_min", None, minimum=0.0, maximum=1.0),
        overlap_max=node.number("overlap_max", None, minimum=0.0),
        cross_track_rms_max_m=node.number("cross_track_rms_max_m", None, minimum=0.0),
        cross_track_max_m=node.number("cross_track_max_m", None, minimum=0.0),
        no_geofence_breach=node.flag("no_geofence_breach", False),
        geofence_margin_m=node.number("geofence_margin_m", 2.0, minimum=0.0),
        done_within_s=node.number("done_within_s", None, above=0.0),
    )
    node.finish()
    return c
