"""Spinning-disc spreader: the trapezoidal pattern adds up to an even rate at the working width."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agrifleet.core.errors import ConfigError
from agrifleet.plugins.spreader import Spreader


def test_overlap_and_footprint() -> None:
    s = Spreader()  # works 24 m, throws 36 m
    assert s.overlap_ratio == pytest.approx(0.5)
    fp = s.footprint
    assert fp.width_m == 36.0 and fp.flat_width_m == pytest.approx(12.0)
    assert fp.offset_m == pytest.approx(-6.0)  # discs 2 m behind, pattern 8 m deep behind them
    assert fp.profile([0.0, 6.0, 12.0, 18.0]) == pytest.approx([1.0, 1.0, 0.5, 0.0])


@given(st.floats(6, 48), st.floats(0.0, 1.0))
def test_adjacent_passes_add_up_to_an_even_rate(width: float, frac: float) -> None:
    s = Spreader(working_width_m=width, spread_width_m=width * (1.0 + frac), n_sections=1)
    x = np.linspace(-width / 2, width / 2, 41)[1:-1]  # the middle pass of five, where all neighbours reach
    assert s.rate_across(x) == pytest.approx(np.ones_like(x), abs=1e-9)


def test_wrong_pass_spacing_leaves_stripes() -> None:
    s = Spreader()  # set up for 24 m between passes
    x = np.linspace(-15, 15, 121)
    assert np.ptp(s.rate_across(x)) < 1e-9
    driven_30_m_apart = s.footprint.profile(x[:, None] - np.array([-60, -30, 0, 30, 60])).sum(axis=1)
    assert driven_30_m_apart.min() == pytest.approx(0.5)  # under-dosed stripes midway between passes


def test_spread_width_limits() -> None:
    with pytest.raises(ConfigError, match="spread_width_m = 50.0 must lie within 1..2 working widths"):
        Spreader(spread_width_m=50.0)
    with pytest.raises(ConfigError, match="spread_width_m = 20.0"):
        Spreader(spread_width_m=20.0)
