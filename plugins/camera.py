"""Survey camera on a drone: footprint and ground sample distance from the optics and the altitude.

A nadir camera at ``altitude_m`` sees ``sensor_width_mm / focal_length_mm * altitude_m`` across track (the
image's long side across track) and ``sensor_height_mm / focal_length_mm * altitude_m`` along it. Adjacent
passes overlap by ``side_overlap``, so the working width is the footprint width times ``1 - side_overlap``;
pictures are taken every ``(1 - front_overlap)`` footprint lengths (ArduPilot's DO_SET_CAM_TRIGG_DIST).
The speed is bounded by motion blur (``speed * exposure`` under ``max_blur_px`` pixels) and by how often the
camera can fire.
"""
from __future__ import annotations

from dataclasses import dataclass

from agrifleet.core.implement import Actuation, ActuationKind, Footprint, Implement, Section, even_sections, param

__all__ = ["SurveyCamera"]


@dataclass(frozen=True, slots=True)
class SurveyCamera(Implement):
    """Survey camera: footprint and GSD from sensor, focal length and altitude; overlaps; trigger distance."""

    name = "camera"
    kind = "camera"

    sensor_width_mm: float = param(13.2, "sensor width (image long side), mm")
    sensor_height_mm: float = param(8.8, "sensor height, mm")
    focal_length_mm: float = param(8.8, "lens focal length, mm")
    image_width_px: int = param(5472, "image width, pixels")
    image_height_px: int = param(3648, "image height, pixels")
    altitude_m: float = param(60.0, "flight height above ground, m")
    side_overlap: float = param(0.7, "overlap of adjacent passes, 0..1")
    front_overlap: float = param(0.8, "overlap of consecutive pictures, 0..1")
    exposure_s: float = param(0.001, "exposure time, s")
    max_blur_px: float = param(1.0, "motion blur allowed, pixels")
    min_trigger_interval_s: float = param(2.0, "shortest time between pictures, s")

    def __post_init__(self) -> None:
        self._check_positive("sensor_width_mm", "sensor_height_mm", "focal_length_mm", "image_width_px",
                             "image_height_px", "altitude_m", "exposure_s", "max_blur_px", "min_trigger_interval_s")
        for name in ("side_overlap", "front_overlap"):
            self._check(name, 0.0 <= getattr(self, name) < 1.0, "must be within 0..1 (1 excluded)")

    @classmethod
    def altitude_for_gsd(cls, gsd_m: float, sensor_width_mm: float = 13.2, focal_length_mm: float = 8.8,
                         image_width_px: int = 5472) -> float:
        """Flight height that gives a ground sample distance of ``gsd_m`` metres per pixel."""
        return gsd_m * focal_length_mm * image_width_px / sensor_width_mm

    @property
    def gsd_m(self) -> float:
        """Ground sample distance: metres of ground per image pixel (across track)."""
        return self.sensor_width_mm * self.altitude_m / (self.focal_length_mm * self.image_width_px)

    @property
    def footprint_width_m(self) -> float:
        return self.sensor_width_mm / self.focal_length_mm * self.altitude_m

    @property
    def footprint_length_m(self) -> float:
        return self.sensor_height_mm / self.focal_length_mm * self.altitude_m

    @property
    def working_width_m(self) -> float:
        return self.footprint_width_m * (1.0 - self.side_overlap)

    @property
    def trigger_distance_m(self) -> float:
        return self.footprint_length_m * (1.0 - self.front_overlap)

    @property
    def sections(self) -> tuple[Section, ...]:
        return even_sections(self.working_width_m, 1, owner=self.name)

    @property
    def footprint(self) -> Footprint:
        return Footprint(self.footprint_width_m, self.footprint_length_m, 0.0)

    @property
    def capabilities_required(self) -> frozenset[str]:
        return frozenset({"air", "camera"})

    @property
    def actuation(self) -> Actuation:
        return Actuation(ActuationKind.CAMERA, trigger_distance_m=self.trigger_distance_m)

    @property
    def max_work_speed_mps(self) -> float:
        blur_limit = self.max_blur_px * self.gsd_m / self.exposure_s
        trigger_limit = self.trigger_distance_m / self.min_trigger_interval_s
        return min(blur_limit, trigger_limit)
