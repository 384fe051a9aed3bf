"""What every exporter shares: options, anchoring local plans on the globe, the implement, file names."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, Sequence

from agrifleet.core.errors import ConfigError, PluginError
from agrifleet.core.geo import LocalFrame
from agrifleet.core.implement import Implement, build_implement
from agrifleet.core.plan import Plan

__all__ = ["ExportOptions", "ExportResult", "Exporter", "anchored", "output_paths", "parse_origin",
           "resolve_implement"]

FIRMWARES = ("ardupilot", "px4")
VEHICLES = ("auto", "ground", "air")
ENDS = ("auto", "none", "rtl", "land")
LIMIT_POLICIES = ("split", "warn", "error")
ARDUPILOT_SMALL_BOARD_ITEMS = 724
"""Mission items (home included) that fit ArduPilot's mission storage on boards with a 4 KiB FRAM/EEPROM
area (Pixhawk 1 class): the common limit a farm drone or rover controller still has."""


@dataclass(frozen=True, slots=True)
class ExportOptions:
    """Options of ``agrifleet export``; each one is validated here with a message naming it."""

    origin: tuple[float, float] | None = None      # lat, lon of the local origin of a plan without frame
    implement: str | None = None                   # spec; "none" = no actuation; None = the plan's own
    firmware: str = "ardupilot"
    vehicle: str = "auto"                          # auto: air when the plan flies (z > 0.5 m)
    tolerance_m: float = 0.1                       # decimation: largest distance of a sample from the route
    max_items: int = ARDUPILOT_SMALL_BOARD_ITEMS   # per mission file, home included for ArduPilot
    on_limit: str = "split"
    end: str = "auto"                              # auto: RTL for drones, nothing for ground vehicles
    takeoff_alt_m: float | None = None             # default: the first sample's z
    acceptance_radius_m: float = 0.0               # 0 = the autopilot's default
    fence_margin_m: float = 5.0
    per_sortie: bool = True                        # one mission per sortie (drones land to refill)
    customer: str = "agrifleet"
    farm: str = "farm"
    out_crs: str = "wgs84"                         # GeoJSON only: wgs84, gcj02, bd09

    def __post_init__(self) -> None:
        def bad(name: str, why: str) -> ConfigError:
            return ConfigError(f"export option {name} = {getattr(self, name)!r} {why}")

        if self.firmware not in FIRMWARES:
            raise bad("firmware", f"is not one of {', '.join(FIRMWARES)}")
        if self.vehicle not in VEHICLES:
            raise bad("vehicle", f"is not one of {', '.join(VEHICLES)}")
        if self.end not in ENDS:
            raise bad("end", f"is not one of {', '.join(ENDS)}")
        if self.on_limit not in LIMIT_POLICIES:
            raise bad("on_limit", f"is not one of {', '.join(LIMIT_POLICIES)}")
        if not (math.isfinite(self.tolerance_m) and self.tolerance_m >= 0):
            raise bad("tolerance_m", "must be >= 0")
        if not 8 <= self.max_items <= 65535:
            raise bad("max_items", "must be within 8..65535 (MAVLink counts items in 16 bits)")
        for name in ("acceptance_radius_m", "fence_margin_m"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) >= 0):
                raise bad(name, "must be >= 0")
        if self.takeoff_alt_m is not None and not (math.isfinite(self.takeoff_alt_m) and self.takeoff_alt_m > 0):
            raise bad("takeoff_alt_m", "must be > 0")
        if self.origin is not None:
            lat, lon = self.origin
            if not (math.isfinite(lat) and -90 < lat < 90 and math.isfinite(lon) and -180 <= lon <= 180):
                raise bad("origin", "is not a latitude within (-90, 90) and a longitude within [-180, 180]")


@dataclass(slots=True)
class ExportResult:
    """Files written, warnings for the user, and per-file figures (mission items, waypoints)."""

    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    details: list[dict] = field(default_factory=list)


class Exporter(Protocol):
    name: str
    suffix: str
    description: str

    def export(self, plans: Sequence[Plan], target: Path, options: ExportOptions) -> ExportResult: ...


def parse_origin(text: str) -> tuple[float, float]:
    """``"LAT,LON"`` -> ``(lat, lon)`` with a clear error."""
    try:
        lat_s, lon_s = (p.strip() for p in str(text).split(","))
        lat, lon = float(lat_s), float(lon_s)
    except ValueError:
        raise ConfigError(f"--origin {text!r} is not LAT,LON in degrees (e.g. 52.1,5.3)") from None
    ExportOptions(origin=(lat, lon))  # range check with the shared message
    return lat, lon


def anchored(plan: Plan, options: ExportOptions, index: int = 0) -> Plan:
    """The plan with a geographic frame: its own, or one at ``options.origin`` for a local-metre plan."""
    if plan.frame is not None:
        return plan
    if options.origin is None:
        label = plan.field_name or plan.vehicle or f"#{index + 1}"
        raise ConfigError(f"plan {label!r} is in local metres with no geographic frame; give --origin LAT,LON "
                          "(where its local x = 0, y = 0 lies) to place it on the globe")
    return plan.with_(frame=LocalFrame(lat0_deg=options.origin[0], lon0_deg=options.origin[1]))


def resolve_implement(plan: Plan, options: ExportOptions) -> Implement | None:
    """The implement to actuate: ``--implement`` first, else the plan's own spec; ``none`` for none."""
    spec = options.implement if options.implement is not None else plan.implement
    if not spec or spec.strip().lower() == "none":
        return None
    try:
        return build_implement(spec)
    except PluginError as exc:
        where = "--implement" if options.implement is not None else f"the plan's implement {spec!r}"
        raise ConfigError(f"{where}: {exc} (give --implement none to export without actuation)") from None


def output_paths(target: Path, plans: Sequence[Plan], parts: Sequence[int]) -> list[list[Path]]:
    """File names: the target itself for one plan in one part; otherwise ``stem-<vehicle or n>[-part<k>]``."""
    if len(plans) == 1 and parts[0] == 1:
        return [[target]]
    names = [p.vehicle for p in plans]
    use_names = all(names) and len(set(names)) == len(names)
    out = []
    for k, (plan, n) in enumerate(zip(plans, parts)):
        tag = "" if len(plans) == 1 else f"-{_safe(plan.vehicle) if use_names else k + 1}"
        out.append([target.with_name(f"{target.stem}{tag}{f'-part{j + 1}' if n > 1 else ''}{target.suffix}")
                    for j in range(n)])
    return out


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
