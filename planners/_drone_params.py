"""Parameters of drone survey plans, and what a drone implement means for them.

:class:`SurveyParams` is checked once so every stage can trust it. :func:`swath_from_implement` reads an
implement plugin: a sprayer gives its spray width and speed window; a survey camera gives the footprint at
the flying height, the working width (footprint across track times one minus the side overlap) and the
ground sample distance. :func:`survey_params` combines them with a drone's figures and the user's choices.
Re-exported by :mod:`agrifleet.planners.survey`.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal, Mapping

from agrifleet.core.errors import ConfigError
from agrifleet.core.implement import Implement, build_implement
from agrifleet.core.vehicle import VehicleSpec

__all__ = ["ObstacleMode", "SurveyParams", "Swathing", "Turnaround", "survey_params", "swath_from_implement"]

Turnaround = Literal["zero", "arc"]
ObstacleMode = Literal["avoid", "overfly"]


@dataclass(frozen=True, slots=True)
class SurveyParams:
    """How a drone covers a field. Speeds in m/s, heights above ground in metres."""

    width_m: float
    altitude_m: float = 3.0
    speed_mps: float = 5.0
    transit_speed_mps: float = 8.0
    turnaround: Turnaround = "zero"
    angle_deg: float | None = None
    obstacles: ObstacleMode = "avoid"
    sections: int = 1
    margin_m: float = 0.0             # keep the drone this far inside the field and from obstacles
    side_speed_mps: float = 2.0       # zero turnaround: the sideways move between lines
    accel_mps2: float = 3.0           # arc turnaround: the lateral acceleration held on the arc
    stop_decel_mps2: float = 0.5      # braking into a stop (the guidance's ramp): prices turnarounds
    min_coverage: float = 0.995
    angle_step_deg: float = 1.0
    sample_step_m: float = 1.0

    def __post_init__(self) -> None:
        for name in ("width_m", "altitude_m", "speed_mps", "transit_speed_mps", "side_speed_mps",
                     "accel_mps2", "stop_decel_mps2", "angle_step_deg", "sample_step_m"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ConfigError(f"survey: {name} = {v!r} must be a positive number")
        if self.turnaround not in ("zero", "arc"):
            raise ConfigError(f"survey: turnaround = {self.turnaround!r} must be 'zero' or 'arc'")
        if self.obstacles not in ("avoid", "overfly"):
            raise ConfigError(f"survey: obstacles = {self.obstacles!r} must be 'avoid' or 'overfly'")
        if self.angle_deg is not None and not math.isfinite(self.angle_deg):
            raise ConfigError(f"survey: angle = {self.angle_deg!r} must be a number of degrees or auto")
        if not isinstance(self.sections, int) or not 1 <= self.sections <= 32:
            raise ConfigError(f"survey: sections = {self.sections!r} must be a whole number 1..32")
        if not (math.isfinite(self.margin_m) and self.margin_m >= 0):
            raise ConfigError(f"survey: margin = {self.margin_m!r} must be >= 0")
        if not (math.isfinite(self.min_coverage) and 0.9 <= self.min_coverage <= 1.0):
            raise ConfigError(f"survey: min coverage = {self.min_coverage!r} must be between 0.9 and 1")

    @property
    def all_sections(self) -> int:
        return (1 << self.sections) - 1

    @property
    def arc_speed_mps(self) -> float:
        """Speed on an arc turnaround of half a width: what the lateral acceleration allows."""
        return min(self.speed_mps, math.sqrt(self.accel_mps2 * 0.5 * self.width_m))

    def turnaround_s(self) -> float:
        """Estimated time of one turnaround (for choosing the line direction)."""
        v, a = self.speed_mps, self.accel_mps2
        if self.turnaround == "zero":
            side = min(self.side_speed_mps, v)
            stops = (v + side) / (2 * self.stop_decel_mps2) + (side + v) / (2 * a)
            return stops + self.width_m / side
        va = self.arc_speed_mps
        return math.pi * 0.5 * self.width_m / va + 2 * (v - va) / a

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SurveyParams:
        aliases = {"work_speed_mps": "speed_mps", "boundary_margin_m": "margin_m", "z_m": "altitude_m"}
        values = {aliases.get(k, k): v for k, v in data.items()}
        unknown = sorted(set(values) - set(cls.__dataclass_fields__))
        if unknown:
            raise ConfigError(f"survey: unknown parameter(s): {', '.join(unknown)}")
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Swathing:
    """What an implement means for a drone's passes."""

    implement: Implement
    width_m: float
    sections: int
    altitude_m: float | None           # the camera fixes it; a sprayer leaves it to the plan
    max_speed_mps: float
    min_speed_mps: float
    gsd_m: float | None = None
    footprint_m: tuple[float, float] | None = None  # camera: across x along track


def swath_from_implement(implement: Implement | str, altitude_m: float | None = None) -> Swathing:
    """Swath width, sections and speed window of a drone implement; for a camera at ``altitude_m`` (or its
    own altitude), the footprint and ground sample distance too."""
    tool = build_implement(implement) if isinstance(implement, str) else implement
    if "air" not in tool.capabilities_required and "ground" in tool.capabilities_required:
        raise ConfigError(f"implement {tool.name!r} is for ground vehicles (capabilities "
                          f"{'+'.join(sorted(tool.capabilities_required))}); give it platform=air or any")
    gsd, footprint, alt = None, None, None
    if hasattr(tool, "gsd_m") and hasattr(tool, "altitude_m"):   # a camera: the height sets the footprint
        if altitude_m is not None and not math.isclose(altitude_m, tool.altitude_m):
            tool = build_implement(tool.to_spec(), altitude_m=altitude_m)
        gsd = float(tool.gsd_m)
        footprint = (float(tool.footprint_width_m), float(tool.footprint_length_m))
        alt = float(tool.altitude_m)
    return Swathing(tool, float(tool.working_width_m), max(1, tool.n_sections), alt,
                    float(tool.max_work_speed_mps), float(tool.min_work_speed_mps), gsd, footprint)


def survey_params(swathing: Swathing, vehicle: VehicleSpec | None = None, **overrides: Any) -> SurveyParams:
    """Survey parameters from an implement and a drone, with the user's choices; a speed outside the
    implement's window is an error naming both."""
    values: dict[str, Any] = {"width_m": swathing.width_m, "sections": swathing.sections}
    if vehicle is not None:
        values["speed_mps"] = vehicle.work_speed_mps
        values["transit_speed_mps"] = vehicle.transit_speed_mps
        values["accel_mps2"] = vehicle.max_accel_mps2
        if vehicle.cruise_alt_m > 0:
            values["altitude_m"] = vehicle.cruise_alt_m
    if swathing.altitude_m is not None:
        values["altitude_m"] = swathing.altitude_m
    explicit_speed = overrides.get("speed_mps") is not None
    values.update({k: v for k, v in overrides.items() if v is not None})
    name = swathing.implement.name
    if values.get("speed_mps", 5.0) > swathing.max_speed_mps:
        if explicit_speed:
            raise ConfigError(f"speed {values['speed_mps']:g} m/s is above the {name}'s limit of "
                              f"{swathing.max_speed_mps:.2f} m/s")
        values["speed_mps"] = swathing.max_speed_mps
    if values.get("speed_mps", 5.0) < swathing.min_speed_mps:
        raise ConfigError(f"speed {values['speed_mps']:g} m/s is below the {name}'s least working speed of "
                          f"{swathing.min_speed_mps:.2f} m/s")
    return SurveyParams.from_dict(values)
