"""Parameters of a coverage plan, checked once so that every stage can trust them."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal, Mapping

from agrifleet.core.errors import ConfigError

__all__ = ["CoverageParams", "Objective", "TurnKind"]

Objective = Literal["swaths", "length"]
TurnKind = Literal["dubins", "reeds-shepp"]


@dataclass(frozen=True, slots=True)
class CoverageParams:
    """How to cover a field with one machine.

    ``angle_deg`` is the swath direction in degrees counter-clockwise from east (``None`` = search for the
    best angle under ``objective``). ``headland_passes`` rings of the working width are driven around the
    boundary and around every obstacle; swaths fill the field inside them.
    """

    width_m: float
    turn_radius_m: float
    headland_passes: int = 2
    angle_deg: float | None = None
    objective: Objective = "length"
    turns: TurnKind = "dubins"
    work_speed_mps: float = 2.5
    turn_speed_mps: float = 1.5
    transit_speed_mps: float = 3.0
    sections: int = 1
    sample_step_m: float = 0.5
    angle_step_deg: float = 1.0
    boundary_margin_m: float = 0.0
    min_coverage: float = 0.995
    z_m: float = 0.0

    def __post_init__(self) -> None:
        def positive(name: str) -> None:
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ConfigError(f"{name.replace('_', ' ')} = {value!r}: must be a positive number")

        for name in ("width_m", "turn_radius_m", "work_speed_mps", "turn_speed_mps", "transit_speed_mps",
                     "sample_step_m", "angle_step_deg"):
            positive(name)
        if not isinstance(self.headland_passes, int) or not 0 <= self.headland_passes <= 50:
            raise ConfigError(f"headland passes = {self.headland_passes!r}: must be a whole number 0..50")
        if self.angle_deg is not None and not math.isfinite(self.angle_deg):
            raise ConfigError(f"angle = {self.angle_deg!r}: must be a finite number of degrees or 'auto'")
        if self.objective not in ("swaths", "length"):
            raise ConfigError(f"objective = {self.objective!r}: must be 'swaths' or 'length'")
        if self.turns not in ("dubins", "reeds-shepp"):
            raise ConfigError(f"turns = {self.turns!r}: must be 'dubins' or 'reeds-shepp'")
        if not isinstance(self.sections, int) or not 1 <= self.sections <= 32:
            raise ConfigError(f"sections = {self.sections!r}: must be a whole number 1..32")
        if not math.isfinite(self.boundary_margin_m) or self.boundary_margin_m < 0:
            raise ConfigError(f"boundary margin = {self.boundary_margin_m!r}: must be >= 0")
        if not (math.isfinite(self.min_coverage) and 0.9 <= self.min_coverage <= 1.0):
            raise ConfigError(f"min coverage = {self.min_coverage!r}: must be between 0.9 and 1")
        if self.sample_step_m > self.turn_radius_m:
            raise ConfigError(f"sample step {self.sample_step_m} m is coarser than the turning radius "
                              f"{self.turn_radius_m} m")

    @property
    def all_sections(self) -> int:
        """Bitmask with every implement section on."""
        return (1 << self.sections) - 1

    @property
    def headland_width_m(self) -> float:
        return self.headland_passes * self.width_m

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "CoverageParams":
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise ConfigError(f"unknown planner parameter(s): {', '.join(unknown)}")
        return cls(**data)
