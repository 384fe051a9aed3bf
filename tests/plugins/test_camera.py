"""Survey camera: footprint, GSD, working width and trigger distance from the optics and the altitude."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agrifleet.core.errors import ConfigError
from agrifleet.core.implement import MavCmd
from agrifleet.plugins.camera import SurveyCamera


def test_one_inch_sensor_at_60_m() -> None:
    c = SurveyCamera()  # 13.2 x 8.8 mm, 8.8 mm lens, 5472 px wide, 60 m, 70 % side, 80 % front
    assert c.footprint_width_m == pytest.approx(90.0)
    assert c.footprint_length_m == pytest.approx(60.0)
    assert c.gsd_m == pytest.approx(0.016447, rel=1e-4)          # 1.64 cm/px
    assert c.working_width_m == pytest.approx(27.0)
    assert c.trigger_distance_m == pytest.approx(12.0)
    assert c.max_work_speed_mps == pytest.approx(6.0)            # 12 m every 2 s beats the blur limit
    (cmd,) = c.actuation_commands(0, 1)
    assert cmd.command is MavCmd.DO_SET_CAM_TRIGG_DIST and cmd.params[0] == pytest.approx(12.0)
    assert c.actuation_commands(1, 0)[0].params[0] == 0
    assert c.capabilities_required == {"air", "camera"} and c.consumable is None


def test_blur_limits_speed_at_long_exposure() -> None:
    c = SurveyCamera(exposure_s=0.01)
    assert c.max_work_speed_mps == pytest.approx(c.gsd_m / 0.01)  # 1.6 m/s


@given(st.floats(0.005, 0.1))
def test_altitude_for_gsd_inverts_gsd(gsd: float) -> None:
    alt = SurveyCamera.altitude_for_gsd(gsd)
    assert SurveyCamera(altitude_m=alt).gsd_m == pytest.approx(gsd)


def test_overlap_limits() -> None:
    with pytest.raises(ConfigError, match="camera.*side_overlap = 1.0 must be within 0..1"):
        SurveyCamera(side_overlap=1.0)
