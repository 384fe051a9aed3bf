"""Inter-row hoe guided by a row camera: one lifting unit per row, a protected band around each crop row.

Each row unit hoes the soil between two crop rows except a band of ``crop_band_m`` around the crop, which
the knives must not enter; a camera steers the tool frame onto the rows, which works only within a speed
window. Row units lift individually (the sections), the whole frame lifts on the three-point hitch (the
master output). Lowering the frame into the soil takes ``lower_time_s``, so it is commanded that much
before the pass starts.
"""
from __future__ import annotations

from dataclasses import dataclass

from agrifleet.core.implement import (Actuation, ActuationKind, Footprint, Implement, Section, even_sections,
                                      param)

__all__ = ["Weeder"]


@dataclass(frozen=True, slots=True)
class Weeder(Implement):
    """Inter-row hoe: camera-guided row units, protected crop band, lift per row."""

    name = "weeder"
    kind = "weeder"

    rows: int = param(6, "crop rows covered in one pass (one row unit each)")
    row_spacing_m: float = param(0.5, "distance between crop rows, m")
    crop_band_m: float = param(0.08, "band around each crop row left untouched, m")
    tool_offset_m: float = param(-1.8, "tool frame along travel from the vehicle reference point, m")
    min_speed_mps: float = param(0.5, "slowest speed the row camera tracks, m/s")
    max_speed_mps: float = param(2.5, "fastest speed the knives keep the band, m/s")
    lower_time_s: float = param(0.8, "time to lower the frame into working depth, s")
    lift_time_s: float = param(0.3, "time to lift the knives out of the soil, s")
    actuation: Actuation = param(Actuation(ActuationKind.SERVO, 11, 1900, 1100), "three-point hitch lower/raise")
    section_actuation: Actuation | None = param(None, "first row-unit lift output; row i uses channel + i")

    def __post_init__(self) -> None:
        self._check_positive("rows", "row_spacing_m", "max_speed_mps")
        self._check_positive("crop_band_m", "min_speed_mps", "lower_time_s", "lift_time_s", allow_zero=True)
        self._check("crop_band_m", self.crop_band_m < self.row_spacing_m, "must be narrower than the row spacing")
        self._check("max_speed_mps", self.max_speed_mps > self.min_speed_mps, "must exceed min_speed_mps")
        self.sections  # validates the row count (at most 32 row units)  # noqa: B018

    @property
    def working_width_m(self) -> float:
        return self.rows * self.row_spacing_m

    @property
    def sections(self) -> tuple[Section, ...]:
        return even_sections(self.working_width_m, self.rows, owner=self.name)

    @property
    def footprint(self) -> Footprint:
        return Footprint(self.working_width_m, 0.6, self.tool_offset_m)

    @property
    def capabilities_required(self) -> frozenset[str]:
        return frozenset({"ground", "row_guidance"})

    @property
    def on_lead_s(self) -> float:  # type: ignore[override]
        return self.lower_time_s

    @property
    def off_lag_s(self) -> float:  # type: ignore[override]
        return self.lift_time_s

    @property
    def min_work_speed_mps(self) -> float:  # type: ignore[override]
        return self.min_speed_mps

    @property
    def max_work_speed_mps(self) -> float:  # type: ignore[override]
        return self.max_speed_mps

    @property
    def cultivated_fraction(self) -> float:
        """Share of the worked width the knives actually hoe (the rest is the protected crop band)."""
        return 1.0 - self.crop_band_m / self.row_spacing_m

    def hoed_area_m2(self, driven_m: float, mask: int | None = None) -> float:
        """Soil hoed over ``driven_m`` metres with the row units in ``mask`` down (all when ``None``)."""
        width = self.working_width_m if mask is None else self.active_width_m(mask)
        return width * self.cultivated_fraction * driven_m
