"""The implement contract: value objects, parameters and spec strings, actuation, plugin discovery."""
from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agrifleet.core.errors import ConfigError, PluginError
from agrifleet.core.implement import (Actuation, ActuationKind, ConsumableModel, Footprint, Implement, MavCmd,
                                      Section, build_implement, even_sections, param, parse_spec)
from agrifleet.core.plugin import load_all

BUILT_INS = ("sprayer", "seeder", "spreader", "mower", "camera")


# --- actuation ------------------------------------------------------------------------------------------

def test_actuation_commands_carry_mavlink_ids_and_values() -> None:
    assert Actuation.parse("relay:3").command(True).params[:2] == (3.0, 1.0)
    assert Actuation.parse("relay:3").command(False).params[:2] == (3.0, 0.0)
    servo = Actuation.parse("servo:9:2000:1000")
    assert servo.command(True).command is MavCmd.DO_SET_SERVO and servo.command(True).params[:2] == (9.0, 2000.0)
    assert servo.command(False).params[:2] == (9.0, 1000.0)
    assert Actuation.parse("sprayer").command(True).command == 216
    cam = Actuation.parse("camera:12.5").command(True)
    assert cam.command == 206 and cam.params[0] == 12.5 and cam.params[2] == 1.0
    assert Actuation.parse("camera:12.5").command(False).params[0] == 0
    assert Actuation.parse("none").command(True) is None and not Actuation.parse("none")


@given(st.sampled_from(["relay", "servo", "sprayer", "camera", "none"]), st.integers(1, 16),
       st.integers(500, 2500), st.integers(500, 2500), st.floats(0.1, 500))
def test_actuation_text_round_trip(kind: str, ch: int, on: int, off: int, dist: float) -> None:
    a = {"relay": Actuation(ActuationKind.RELAY, ch), "servo": Actuation(ActuationKind.SERVO, ch, on, off),
         "sprayer": Actuation(ActuationKind.SPRAYER), "camera": Actuation(ActuationKind.CAMERA, trigger_distance_m=dist),
         "none": Actuation()}[kind]
    assert Actuation.parse(a.to_text()) == a


@pytest.mark.parametrize("text, words", [
    ("valve:1", "is not none, relay:N"), ("servo:40", "1..32"), ("servo:9:3000:1000", "500..2500"),
    ("relay:1.5", "whole numbers"), ("camera:0", "must be > 0"), ("servo:9:1900", "wrong number"),
])
def test_actuation_errors_name_the_text(text: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        Actuation.parse(text)


# --- sections, footprint, consumable --------------------------------------------------------------------

@given(st.floats(0.5, 60), st.integers(1, 32))
def test_even_sections_tile_the_width_left_to_right(width: float, n: int) -> None:
    secs = even_sections(width, n)
    assert len(secs) == n
    assert secs[0].left_m == pytest.approx(width / 2) and secs[-1].right_m == pytest.approx(-width / 2)
    for a, b in zip(secs[:-1], secs[1:]):
        assert a.right_m == pytest.approx(b.left_m)
        assert a.offset_m > b.offset_m
    assert sum(s.width_m for s in secs) == pytest.approx(width)


def test_uneven_sections_and_their_errors() -> None:
    secs = even_sections(21.0, widths_m=(6.0, 4.5, 4.5, 6.0))
    assert [s.offset_m for s in secs] == pytest.approx([7.5, 2.25, -2.25, -7.5])
    with pytest.raises(ConfigError, match="add up to 12 m, not the working width 24 m"):
        even_sections(24.0, widths_m=(6.0, 6.0), owner="sprayer")
    with pytest.raises(ConfigError, match="1..32"):
        even_sections(24.0, 33)
    with pytest.raises(ConfigError, match="width"):
        Section(0.0, 0.0)


def test_footprint_corners_area_and_profile() -> None:
    fp = Footprint(width_m=4.0, length_m=2.0, offset_m=-3.0)
    c = fp.corners(10.0, 20.0, math.pi / 2)  # facing north: behind = south, left = west
    assert c.shape == (4, 2)
    assert c[:, 0].min() == pytest.approx(8.0) and c[:, 0].max() == pytest.approx(12.0)
    assert c[:, 1].min() == pytest.approx(16.0) and c[:, 1].max() == pytest.approx(18.0)
    assert fp.polygon(0, 0, 0.3).area == pytest.approx(8.0)
    many = fp.corners(np.zeros(5), np.zeros(5), np.linspace(0, 1, 5))
    assert many.shape == (5, 4, 2)
    assert fp.profile([0.0, 1.99, 2.01]).tolist() == [1.0, 1.0, 0.0]
    trap = Footprint(10.0, 1.0, flat_width_m=6.0)
    assert trap.profile([0.0, 3.0, 4.0, 5.0, 6.0]) == pytest.approx([1.0, 1.0, 0.5, 0.0, 0.0])
    with pytest.raises(ConfigError, match="flat_width_m"):
        Footprint(4.0, 1.0, flat_width_m=5.0)


def test_consumable_model_numbers() -> None:
    c = ConsumableModel("mix", "l", rate_per_ha=150.0, capacity=3000.0, density_kg_per_unit=1.1)
    assert c.amount_for_area(20_000.0) == pytest.approx(300.0)
    assert c.area_per_fill_m2 == pytest.approx(200_000.0)
    assert c.flow_per_s(3.0, 24.0) == pytest.approx(150 * 24 * 3 / 10_000)  # 1.08 L/s
    assert c.full_mass_kg == pytest.approx(3300.0)
    with pytest.raises(ConfigError, match="unit 'gal'"):
        ConsumableModel("mix", "gal", 1.0, 1.0)


# --- the base class ---------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Roller(Implement):
    """A test implement: three sections on relays 4..6, master servo."""

    name = "roller"
    width_m: float = param(6.0, "width")
    flag: bool = param(False, "a flag")
    widths: tuple[float, ...] = param((), "section widths")
    actuation: Actuation = param(Actuation(ActuationKind.SERVO, 9), "master")
    section_actuation: Actuation | None = param(Actuation(ActuationKind.RELAY, 4), "sections")
    on_lead_s: float = 0.5
    off_lag_s: float = 0.25

    def __post_init__(self) -> None:
        self._check_positive("width_m")

    @property
    def working_width_m(self) -> float:
        return self.width_m

    @property
    def sections(self) -> tuple[Section, ...]:
        return even_sections(self.width_m, 3, self.widths, owner=self.name)

    @property
    def footprint(self) -> Footprint:
        return Footprint(self.width_m, 1.0, -2.0)

    @property
    def capabilities_required(self) -> frozenset[str]:
        return frozenset({"ground"})


def test_actuation_commands_order_and_masking() -> None:
    r = Roller()
    on = r.actuation_commands(0, 0b101)
    assert [(c.command, c.params[0], c.params[1]) for c in on] == [
        (MavCmd.DO_SET_RELAY, 4.0, 1.0), (MavCmd.DO_SET_RELAY, 6.0, 1.0), (MavCmd.DO_SET_SERVO, 9.0, 1900.0)]
    off = r.actuation_commands(0b101, 0)
    assert [(c.command, c.params[0], c.params[1]) for c in off] == [
        (MavCmd.DO_SET_SERVO, 9.0, 1100.0), (MavCmd.DO_SET_RELAY, 4.0, 0.0), (MavCmd.DO_SET_RELAY, 6.0, 0.0)]
    change = r.actuation_commands(0b101, 0b110)  # master stays on: only section valves move
    assert [(c.params[0], c.params[1]) for c in change] == [(4.0, 0.0), (5.0, 1.0)]
    assert r.actuation_commands(0b1000, 0) == []  # bits beyond the implement's sections are ignored
    assert r.switch_lead_m(4.0, on=True) == pytest.approx(2.0)
    assert r.switch_lead_m(-4.0, on=False) == pytest.approx(1.0)
    assert r.active_width_m(0b011) == pytest.approx(4.0)
    np.testing.assert_allclose(r.section_bounds_m, [[3, 1], [1, -1], [-1, -3]])
    assert r.working_polygon(0, 0, 0.0, 0b001).bounds == pytest.approx((-2.5, 1.0, -1.5, 3.0))
    assert r.working_polygon(0, 0, 0.0, 0).is_empty


def test_parameters_spec_round_trip_and_errors() -> None:
    r = Roller.from_params({"width_m": "9", "flag": "yes", "widths": "3+3+3", "actuation": "relay:1",
                            "section_actuation": "none"})
    assert r.width_m == 9.0 and r.flag is True and r.widths == (3.0, 3.0, 3.0) and r.section_actuation is None
    assert r.to_spec() == "roller:width_m=9.0,flag=true,widths=3.0+3.0+3.0,actuation=relay:1,section_actuation=none"
    name, params = parse_spec(r.to_spec())
    assert name == "roller" and Roller.from_params(params) == r
    assert Roller().to_spec() == "roller"
    assert Roller.from_params({"width_m": 7, "widths": [2, 2, 3]}).widths == (2.0, 2.0, 3.0)  # JSON values
    assert r.to_params()["widths"] == [3.0, 3.0, 3.0] and r.to_params()["actuation"] == "relay:1"
    info = {p.name: p for p in Roller.parameters()}
    assert info["section_actuation"].type == "Actuation | none" and info["widths"].type == "tuple[float, ...]"
    assert info["width_m"].default == "6.0" and info["width_m"].help == "width"
    with pytest.raises(ConfigError, match=r"implement 'roller': unknown parameter 'widht_m' \(known: "):
        Roller.from_params({"widht_m": 3})
    with pytest.raises(ConfigError, match="implement 'roller': parameter width_m = 'wide' is not a number"):
        Roller.from_params({"width_m": "wide"})
    with pytest.raises(ConfigError, match="implement 'roller': width_m = -2.0 must be > 0"):
        Roller.from_params({"width_m": "-2"})
    with pytest.raises(ConfigError, match="parameter flag = 'maybe' is not true or false"):
        Roller.from_params({"flag": "maybe"})
    with pytest.raises(ConfigError, match="is not key=value"):
        parse_spec("roller:width_m")
    with pytest.raises(ConfigError, match="no implement name"):
        parse_spec(":width_m=3")


def test_missing_contract_member_cannot_be_instantiated() -> None:
    @dataclass(frozen=True, slots=True)
    class Half(Implement):
        name = "half"

        @property
        def working_width_m(self) -> float:
            return 1.0

    with pytest.raises(TypeError, match="abstract"):
        Half()  # type: ignore[abstract]


# --- plugins through the registry -------------------------------------------------------------------------

@pytest.mark.parametrize("name", BUILT_INS)
def test_built_ins_load_and_round_trip_their_spec(name: str) -> None:
    impl = build_implement(name)
    assert impl.name == name and impl.working_width_m > 0 and impl.n_sections >= 1
    assert impl.all_on_mask == (1 << impl.n_sections) - 1
    assert sum(s.width_m for s in impl.sections) == pytest.approx(impl.working_width_m)
    assert impl.capabilities_required & {"ground", "air"}
    assert impl.actuation_commands(0, impl.all_on_mask), "switching on must command something"
    assert build_implement(impl.to_spec()) == impl
    described = type(impl).describe()
    assert described["working_width_m"] == pytest.approx(impl.working_width_m)


def test_build_implement_errors() -> None:
    with pytest.raises(PluginError, match="no implement plugin named 'plough'"):
        build_implement("plough")
    with pytest.raises(ConfigError, match="implement 'sprayer': unknown parameter 'width'"):
        build_implement("sprayer:width=3")
    assert build_implement({"name": "sprayer", "boom_width_m": 12, "n_sections": 4}).working_width_m == 12.0
    assert build_implement("sprayer", boom_width_m=18.0).working_width_m == 18.0


@pytest.fixture
def third_party(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A distribution on sys.path with one good and three broken implement plugins."""
    (tmp_path / "fakeplug_mod.py").write_text(textwrap.dedent('''
        from dataclasses import dataclass
        from agrifleet.core.implement import Actuation, Footprint, Implement, even_sections, param

        @dataclass(frozen=True, slots=True)
        class Disc(Implement):
            """A third-party disc harrow."""
            name = "disc"
            width_m: float = param(4.0, "width")
            actuation: Actuation = param(Actuation(), "none")
            def __post_init__(self):
                self._check_positive("width_m")
            working_width_m = property(lambda self: self.width_m)
            sections = property(lambda self: even_sections(self.width_m, 1))
            footprint = property(lambda self: Footprint(self.width_m, 1.0))
            capabilities_required = property(lambda self: frozenset({"ground"}))

        @dataclass(frozen=True, slots=True)
        class BadDefaults(Disc):
            """Defaults that fail validation."""
            name = "baddefaults"
            width_m: float = param(-1.0, "width")

        class NotAnImplement:
            name = "nope"
    '''))
    dist = tmp_path / "fakeplug-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fakeplug\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[agrifleet.implements]\ndisc = fakeplug_mod:Disc\nbaddefaults = fakeplug_mod:BadDefaults\n"
        "nope = fakeplug_mod:NotAnImplement\nmissing = fakeplug_mod:Missing\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_broken_third_party_plugins_are_named_and_the_rest_work(third_party: Path) -> None:
    loaded, errors = load_all("agrifleet.implements")
    assert set(BUILT_INS) | {"disc", "baddefaults"} <= set(loaded)
    text = [str(e) for e in errors]
    assert len(text) == 2
    assert any("agrifleet.implements:nope" in t and "from fakeplug" in t and "missing working_width_m" in t
               for t in text)
    assert any("agrifleet.implements:missing" in t and "failed to load: AttributeError" in t for t in text)
    assert build_implement("disc:width_m=5").working_width_m == 5.0


def test_agrifleet_plugins_lists_parameters_and_each_broken_plugin_once(third_party: Path) -> None:
    env_path = f"{third_party}"
    out = subprocess.run([sys.executable, "-m", "agrifleet.core.cli", "plugins"], capture_output=True, text=True,
                         env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"}, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines() + out.stderr.splitlines()
    assert sum("BROKEN" in ln and "nope" in ln for ln in lines) == 1
    assert sum("BROKEN" in ln and "implements:missing" in ln for ln in lines) == 1
    assert sum("BROKEN" in ln and "baddefaults" in ln and "width_m = -1.0 must be > 0" in ln for ln in lines) == 1
    assert not any("nope" in ln for ln in out.stderr.splitlines())
    assert any(ln.strip().startswith("boom_width_m = 24.0  (boom width") for ln in lines)
    assert any(ln.startswith("  disc ") for ln in lines)
