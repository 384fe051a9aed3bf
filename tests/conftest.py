"""Shared test fixtures: paths to the bundled data and the shared benchmark fields."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
SHARED_BENCH = ROOT.parent / "shared" / "bench"

# The default run is derandomised, so a build fails or passes for the code and not for the draw; the
# "thorough" profile explores fresh random examples (run it before changing a planner).
settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=500, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def bench_fields_dir() -> Path:
    """The six benchmark fields of ../shared/bench/fields (skips when the shared folder is absent)."""
    path = SHARED_BENCH / "fields"
    if not path.is_dir():
        pytest.skip("../shared/bench/fields is not available on this machine")
    return path
