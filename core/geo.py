"""Coordinates: the local metric frame of a field, and the Chinese web-map datums.

Planning and simulation work in a local frame of east/north metres. WGS84 appears only at the edges
(import, export, drivers) and is converted here, in one place. GCJ-02 (the datum of Chinese web maps such as
AMap/Gaode and Tencent) and BD-09 (Baidu) are obfuscated WGS84; fields drawn on those maps are off by up to
several hundred metres until they are converted back.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from pyproj import CRS, Transformer

__all__ = [
    "Crs",
    "LocalFrame",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "to_wgs84",
    "from_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

Crs = Literal["wgs84", "local", "gcj02", "bd09"]
"""Coordinate systems a field file may be written in."""


@dataclass(frozen=True, slots=True)
class LocalFrame:
    """A transverse Mercator frame centred on a field: x east, y north, metres.

    Centred projection keeps scale error below 1 ppm across a 5 km field, so distances measured in the
    frame are distances on the ground.
    """

    lat0_deg: float
    lon0_deg: float
    _forward: Transformer = field(init=False, repr=False, compare=False)
    _inverse: Transformer = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lat0_deg) and -90.0 < self.lat0_deg < 90.0):
            raise ValueError(f"frame origin latitude {self.lat0_deg!r} is not within (-90, 90)")
        if not (math.isfinite(self.lon0_deg) and -180.0 <= self.lon0_deg <= 180.0):
            raise ValueError(f"frame origin longitude {self.lon0_deg!r} is not within [-180, 180]")
        local = CRS.from_proj4(
            f"+proj=tmerc +lat_0={self.lat0_deg!r} +lon_0={self.lon0_deg!r} +k=1 +x_0=0 +y_0=0 "
            "+ellps=WGS84 +units=m +no_defs"
        )
        object.__setattr__(self, "_forward", Transformer.from_crs("EPSG:4326", local, always_xy=True))
        object.__setattr__(self, "_inverse", Transformer.from_crs(local, "EPSG:4326", always_xy=True))

    def __reduce__(self):  # Transformers rebuild from the origin; keeps frames cheap to send to workers.
        return (LocalFrame, (self.lat0_deg, self.lon0_deg))

    @classmethod
    def around(cls, lonlat: np.ndarray) -> "LocalFrame":
        """A frame centred on the bounding box of ``(N, 2)`` lon/lat points."""
        pts = np.asarray(lonlat, dtype=float).reshape(-1, 2)
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        return cls(lat0_deg=float((lo[1] + hi[1]) / 2), lon0_deg=float((lo[0] + hi[0]) / 2))

    def to_local(self, lonlat: np.ndarray) -> np.ndarray:
        """``(N, 2)`` lon/lat degrees -> ``(N, 2)`` east/north metres."""
        pts = np.asarray(lonlat, dtype=float)
        x, y = self._forward.transform(pts[..., 0], pts[..., 1])
        return np.stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)], axis=-1)

    def to_wgs84(self, xy: np.ndarray) -> np.ndarray:
        """``(N, 2)`` east/north metres -> ``(N, 2)`` lon/lat degrees."""
        pts = np.asarray(xy, dtype=float)
        lon, lat = self._inverse.transform(pts[..., 0], pts[..., 1])
        return np.stack([np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)], axis=-1)

    def point_to_local(self, lon_deg: float, lat_deg: float) -> tuple[float, float]:
        """One point, without array overhead (about 1 us instead of 7; for control loops)."""
        x, y = self._forward.transform(lon_deg, lat_deg)
        return float(x), float(y)

    def point_to_wgs84(self, x: float, y: float) -> tuple[float, float]:
        """One point: ``(lon, lat)`` degrees, without array overhead."""
        lon, lat = self._inverse.transform(x, y)
        return float(lon), float(lat)

    def to_dict(self) -> dict[str, float]:
        return {"lat0_deg": self.lat0_deg, "lon0_deg": self.lon0_deg}

    @classmethod
    def from_dict(cls, data: dict) -> "LocalFrame":
        return cls(lat0_deg=float(data["lat0_deg"]), lon0_deg=float(data["lon0_deg"]))


# --- GCJ-02 / BD-09 ---------------------------------------------------------------------------------------
# The published GCJ-02 forward formula (Krasovsky 1940 ellipsoid constants), applied only inside China's
# bounding box as the web maps do. The inverse has no closed form: a fixed-point iteration converges to
# well under a millimetre in a few steps.
_KRASOVSKY_A = 6378245.0
_KRASOVSKY_EE = 0.00669342162296594323
_BD_X_PI = math.pi * 3000.0 / 180.0


def _outside_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _gcj_offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = lon - 105.0
    y = lat - 35.0
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x)) + common
            + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
            + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x)) + common
            + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
            + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0)
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - _KRASOVSKY_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_KRASOVSKY_A * (1.0 - _KRASOVSKY_EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_KRASOVSKY_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    outside = _outside_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def _split(lonlat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pts = np.asarray(lonlat, dtype=float)
    return pts[..., 0], pts[..., 1]


def wgs84_to_gcj02(lonlat: np.ndarray) -> np.ndarray:
    """``(N, 2)`` WGS84 lon/lat -> GCJ-02 lon/lat (unchanged outside China)."""
    lon, lat = _split(lonlat)
    dlon, dlat = _gcj_offset(lon, lat)
    return np.stack([lon + dlon, lat + dlat], axis=-1)


def gcj02_to_wgs84(lonlat: np.ndarray, tol_deg: float = 1e-10, max_iter: int = 30) -> np.ndarray:
    """``(N, 2)`` GCJ-02 lon/lat -> WGS84 lon/lat by fixed-point inversion (error < 1e-9 degrees)."""
    glon, glat = _split(lonlat)
    lon, lat = glon.copy(), glat.copy()
    for _ in range(max_iter):
        dlon, dlat = _gcj_offset(lon, lat)
        new_lon, new_lat = glon - dlon, glat - dlat
        done = np.all(np.abs(new_lon - lon) < tol_deg) and np.all(np.abs(new_lat - lat) < tol_deg)
        lon, lat = new_lon, new_lat
        if done:
            break
    return np.stack([lon, lat], axis=-1)


def gcj02_to_bd09(lonlat: np.ndarray) -> np.ndarray:
    """``(N, 2)`` GCJ-02 lon/lat -> BD-09 lon/lat (Baidu's closed-form offset)."""
    x, y = _split(lonlat)
    z = np.hypot(x, y) + 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _BD_X_PI)
    return np.stack([z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006], axis=-1)


def bd09_to_gcj02(lonlat: np.ndarray, refine: int = 3) -> np.ndarray:
    """``(N, 2)`` BD-09 lon/lat -> GCJ-02 lon/lat.

    Baidu's published inverse is an approximation (up to ~2e-6 degrees, 0.2 m, off); ``refine`` Newton-free
    fixed-point steps on the exact forward formula bring it below 1e-12 degrees.
    """
    bd = np.asarray(lonlat, dtype=float)
    bx, by = _split(bd)
    x, y = bx - 0.0065, by - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_X_PI)
    gcj = np.stack([z * np.cos(theta), z * np.sin(theta)], axis=-1)
    for _ in range(refine):
        gcj = gcj + (bd - gcj02_to_bd09(gcj))
    return gcj


def wgs84_to_bd09(lonlat: np.ndarray) -> np.ndarray:
    return gcj02_to_bd09(wgs84_to_gcj02(lonlat))


def bd09_to_wgs84(lonlat: np.ndarray) -> np.ndarray:
    return gcj02_to_wgs84(bd09_to_gcj02(lonlat))


def to_wgs84(lonlat: np.ndarray, crs: Crs) -> np.ndarray:
    """Geographic points of the given datum -> WGS84. ``local`` is not geographic and is refused."""
    if crs == "wgs84":
        return np.asarray(lonlat, dtype=float)
    if crs == "gcj02":
        return gcj02_to_wgs84(lonlat)
    if crs == "bd09":
        return bd09_to_wgs84(lonlat)
    raise ValueError(f"{crs!r} is not a geographic datum (expected wgs84, gcj02 or bd09)")


def from_wgs84(lonlat: np.ndarray, crs: Crs) -> np.ndarray:
    """WGS84 points -> the given datum (for display on Chinese web maps)."""
    if crs == "wgs84":
        return np.asarray(lonlat, dtype=float)
    if crs == "gcj02":
        return wgs84_to_gcj02(lonlat)
    if crs == "bd09":
        return wgs84_to_bd09(lonlat)
    raise ValueError(f"{crs!r} is not a geographic datum (expected wgs84, gcj02 or bd09)")
