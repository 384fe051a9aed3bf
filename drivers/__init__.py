"""Vehicle drivers: adapters between agrifleet plans and the machines that drive them."""
from __future__ import annotations

from .base import Capabilities, Driver, GnssQuality, MissionState, TelemetrySample

__all__ = ["Capabilities", "Driver", "GnssQuality", "MissionState", "TelemetrySample"]
