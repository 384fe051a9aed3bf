"""Turn curves: known shortest paths, end poses, sampling geometry, errors, and agreement with OMPL."""
from __future__ import annotations

import math

import numpy as np
import pytest
from agrifleet.core.errors import ConfigError
from agrifleet.planners.curves import Curve, sample_curves, shortest, shortest_lengths, word_name

PI = math.pi


def _wrap(a: np.ndarray) -> np.ndarray:
    return (np.asarray(a) + PI) % (2 * PI) - PI


def _random_pairs(n: int, seed: int, box_m: float = 100.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    lo, hi = [0.0, 0.0, -PI], [box_m, box_m, PI]
    return rng.uniform(lo, hi, (n, 3)), rng.uniform(lo, hi, (n, 3))


def assert_on_arcs_and_lines(points: np.ndarray, radius_m: float, step_m: float) -> None:
    """Every piece between consecutive samples is a straight or an arc of radius ``radius_m``, <= step."""
    a, b = points[:-1], points[1:]
    chord = np.hypot(b[:, 0] - a[:, 0], b[:, 1] - a[:, 1])
    dh = _wrap(b[:, 2] - a[:, 2])
    moving = chord > 1e-12
    straight = moving & (np.abs(dh) < 1e-12)
    arc = moving & ~straight
    # Straight pieces run along the heading (backwards when reversing).
    direction = np.arctan2(b[:, 1] - a[:, 1], b[:, 0] - a[:, 0])
    off_axis = np.abs(np.sin(direction - a[:, 2]))
    assert (off_axis[straight] < 1e-9).all()
    assert (chord[straight] <= step_m * (1 + 1e-12)).all()
    # Arc pieces: chord = 2 r |sin(dh / 2)|, along the mean heading, and arc length r |dh| <= step.
    np.testing.assert_allclose(chord[arc], 2 * radius_m * np.abs(np.sin(dh[arc] / 2)), rtol=1e-9, atol=1e-12)
    assert (np.abs(np.sin(direction - a[:, 2] - dh / 2))[arc] < 1e-7).all()
    assert (radius_m * np.abs(dh[arc]) <= step_m * (1 + 1e-9)).all()
    # The machine moves forwards or backwards as its direction column says.
    along = np.cos(direction - a[:, 2] - np.where(arc, dh / 2, 0.0))
    assert (np.sign(along[moving]) == a[moving, 3]).all()
    # A piece that does not move is a cusp: the direction flips there and nowhere else.
    flips = a[:, 3] != b[:, 3]
    assert (flips == ~moving).all()


class TestDubins:
    def test_straight_ahead(self) -> None:
        c = shortest((0.0, 0.0, 0.0), (10.0, 0.0, 0.0), 5.0)
        assert c.length_m == pytest.approx(10.0, abs=1e-12)
        assert c.word_name == "LSL" and c.params == pytest.approx((0.0, 10.0, 0.0))
        assert not c.has_reverse

    def test_u_turn_to_next_swath_is_a_half_circle(self) -> None:
        for side, name in ((1, "LSL"), (-1, "RSR")):
            c = shortest((3.0, 4.0, 0.0), (3.0, 4.0 + side * 10.0, PI), 5.0)
            assert c.length_m == pytest.approx(5.0 * PI, rel=1e-12)
            assert c.word_name == name
        # Two swaths further: half circle plus the straight in between.
        c = shortest((0.0, 0.0, PI / 2), (-30.0, 0.0, -PI / 2), 5.0)
        assert c.length_m == pytest.approx(5.0 * PI + 20.0, rel=1e-12)

    def test_turn_on_the_spot_needs_a_ccc_word(self) -> None:
        # Reversing the heading without moving: arcs pi/3, 5 pi/3, pi/3 (the middle circle touches both).
        c = shortest((0.0, 0.0, 0.0), (0.0, 0.0, PI), 2.0)
        assert c.word_name in ("LRL", "RLR")
        assert c.params == pytest.approx((2 * PI / 3, 10 * PI / 3, 2 * PI / 3), rel=1e-12)
        x, y, h = c.end
        assert math.hypot(x, y) < 1e-9 and abs(_wrap(h - PI)) < 1e-9

    def test_identical_poses_have_length_zero(self) -> None:
        c = shortest((1.0, 2.0, 0.3), (1.0, 2.0, 0.3), 5.0)
        assert c.length_m == 0.0 and c.end == pytest.approx((1.0, 2.0, 0.3))
        points = c.sample(1.0)
        assert points.shape == (2, 4) and (points[:, :3] == [1.0, 2.0, 0.3]).all()

    def test_end_pose_is_the_goal(self) -> None:
        starts, goals = _random_pairs(300, seed=1)
        for r in (0.01, 5.0, 40.0):
            for s, g in zip(starts, goals):
                c = shortest(tuple(s), tuple(g), r)
                x, y, h = c.end
                assert math.hypot(x - g[0], y - g[1]) < 1e-9 and abs(_wrap(h - g[2])) < 1e-9

    def test_batch_equals_single_calls(self) -> None:
        starts, goals = _random_pairs(200, seed=2)
        lengths, words, params = shortest_lengths(starts, goals, 5.0)
        assert words.dtype == np.int8 and params.shape == (200, 3)
        for i in range(200):
            c = shortest(starts[i], goals[i], 5.0)
            assert (c.length_m, c.word, c.params) == (lengths[i], words[i], tuple(params[i]))

    def test_one_start_many_goals(self) -> None:
        starts, goals = _random_pairs(20, seed=3)
        lengths, _, _ = shortest_lengths(starts[0], goals, 5.0)
        np.testing.assert_array_equal(lengths, shortest_lengths(np.repeat(starts[:1], 20, 0), goals, 5.0)[0])

    def test_sample_geometry(self) -> None:
        starts, goals = _random_pairs(100, seed=4)
        for s, g in zip(starts, goals):
            c = shortest(s, g, 7.0)
            points = c.sample(0.7)
            assert points[0, :3].tolist() == pytest.approx([*s[:2], _wrap(s[2])], abs=1e-12)
            assert np.hypot(*(points[-1, :2] - g[:2])) < 1e-9 and abs(_wrap(points[-1, 2] - g[2])) < 1e-9
            assert (points[:, 3] == 1).all()
            assert_on_arcs_and_lines(points, 7.0, 0.7)
            # ceil(length / step) pieces per segment at most: no more points than needed.
            assert len(points) <= sum(math.ceil(p / 0.7) for p in c.params) + 2

    def test_sample_curves_matches_curve_sample(self) -> None:
        starts, goals = _random_pairs(30, seed=5)
        _, words, params = shortest_lengths(starts, goals, 5.0)
        points, offsets = sample_curves(starts, words, params, 5.0, 1.5)
        for i in range(30):
            c = shortest(starts[i], goals[i], 5.0)
            np.testing.assert_array_equal(points[offsets[i]:offsets[i + 1]], c.sample(1.5))

    def test_curve_built_by_hand_is_checked(self) -> None:
        c = shortest((0.0, 0.0, 0.0), (20.0, 5.0, 1.0), 5.0)
        assert Curve(c.kind, list(c.start), c.word, list(c.params), c.radius_m, c.length_m) == c
        with pytest.raises(ConfigError, match="does not match"):
            Curve("dubins", c.start, c.word, c.params, c.radius_m, c.length_m + 1.0)
        with pytest.raises(ConfigError, match="forwards"):
            Curve("dubins", c.start, 0, (-1.0, 1.0, 0.0), 5.0, 2.0)
        with pytest.raises(ConfigError, match="word"):
            Curve("dubins", c.start, 6, c.params, 5.0, c.length_m)
        with pytest.raises(ConfigError, match="start"):
            Curve("dubins", (0.0, math.inf, 0.0), c.word, c.params, 5.0, c.length_m)


class TestReedsShepp:
    def test_turn_on_the_spot_is_three_arcs_of_pi_over_3(self) -> None:
        c = shortest((0.0, 0.0, 0.0), (0.0, 0.0, PI), 2.0, kind="reeds-shepp")
        assert c.length_m == pytest.approx(2.0 * PI, rel=1e-12)
        assert c.word_name in ("L+R-L+", "R+L-R+", "L-R+L-", "R-L+R-")
        assert np.abs(c.params[:3]) == pytest.approx([2 * PI / 3] * 3, rel=1e-12) and c.params[3:] == (0, 0)
        assert c.has_reverse

    def test_straight_back(self) -> None:
        c = shortest((5.0, 1.0, PI / 2), (5.0, -9.0, PI / 2), 5.0, kind="reeds-shepp")
        assert c.length_m == pytest.approx(10.0, rel=1e-12) and c.has_reverse
        points = c.sample(1.0)
        assert len(points) == 11 and (points[:, 3] == -1).all()
        np.testing.assert_allclose(points[:, 1], np.linspace(1.0, -9.0, 11), atol=1e-12)

    def test_never_longer_than_dubins(self) -> None:
        starts, goals = _random_pairs(500, seed=8, box_m=30.0)
        rs = shortest_lengths(starts, goals, 5.0, "reeds-shepp")[0]
        dubins = shortest_lengths(starts, goals, 5.0, "dubins")[0]
        assert (rs <= dubins * (1 + 1e-12)).all() and (rs < dubins - 1e-6).mean() > 0.5
        # Reversing makes the metric symmetric: the way back is as long.
        back = shortest_lengths(goals, starts, 5.0, "reeds-shepp")[0]
        np.testing.assert_allclose(rs, back, rtol=1e-9)

    def test_end_pose_and_sample_geometry(self) -> None:
        starts, goals = _random_pairs(200, seed=9, box_m=25.0)
        cusps = 0
        for s, g in zip(starts, goals):
            c = shortest(s, g, 4.0, kind="reeds-shepp")
            x, y, h = c.end
            assert math.hypot(x - g[0], y - g[1]) < 1e-9 and abs(_wrap(h - g[2])) < 1e-9
            points = c.sample(0.5)
            assert np.hypot(*(points[-1, :2] - g[:2])) < 1e-9 and abs(_wrap(points[-1, 2] - g[2])) < 1e-9
            assert_on_arcs_and_lines(points, 4.0, 0.5)
            assert c.has_reverse == bool((points[:, 3] < 0).any())
            cusps += int((points[1:, 3] != points[:-1, 3]).sum())
        assert cusps > 50     # the check above saw many cusps

    def test_word_names(self) -> None:
        c = shortest((0.0, 0.0, 0.0), (0.0, 0.0, PI), 1.0, kind="reeds-shepp")
        assert c.word_name == word_name("reeds-shepp", c.word, c.params) and len(c.word_name) == 6
        assert word_name("reeds-shepp", 16, (1.0, -1.0, -2.0, -1.0, 1.0, 0.0)) == "L+R-S-L-R+"
        with pytest.raises(ConfigError, match="must be 0"):
            Curve("reeds-shepp", (0.0, 0.0, 0.0), 14, (1.0, 2.0, 3.0, 4.0, 0.0), 1.0, 10.0)

    def test_batch_sampling(self) -> None:
        starts, goals = _random_pairs(40, seed=10, box_m=20.0)
        _, words, params = shortest_lengths(starts, goals, 3.0, "reeds-shepp")
        assert words.dtype == np.int16 and params.shape == (40, 5)
        points, offsets = sample_curves(starts, words, params, 3.0, 0.25, "reeds-shepp")
        for i in range(40):
            c = shortest(starts[i], goals[i], 3.0, kind="reeds-shepp")
            np.testing.assert_array_equal(points[offsets[i]:offsets[i + 1]], c.sample(0.25))


class TestErrors:
    @pytest.mark.parametrize("radius", [0.0, -1.0, math.nan, math.inf, "5"])
    def test_bad_radius(self, radius: object) -> None:
        with pytest.raises(ConfigError, match="radius_m"):
            shortest((0.0, 0.0, 0.0), (10.0, 0.0, 0.0), radius)  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match="radius_m"):
            shortest_lengths(np.zeros((2, 3)), np.ones((2, 3)), radius)  # type: ignore[arg-type]

    @pytest.mark.parametrize("pose", [(0.0, math.nan, 0.0), (math.inf, 0.0, 0.0), (0.0, 0.0), "abc", None])
    def test_bad_pose(self, pose: object) -> None:
        with pytest.raises(ConfigError, match="goal"):
            shortest((0.0, 0.0, 0.0), pose, 5.0)  # type: ignore[arg-type]

    def test_bad_arrays(self) -> None:
        goals = np.ones((3, 3))
        starts = np.zeros((3, 3))
        starts[1, 2] = np.nan
        with pytest.raises(ConfigError, match=r"starts\[1\]"):
            shortest_lengths(starts, goals, 5.0)
        with pytest.raises(ConfigError, match="differ"):
            shortest_lengths(np.zeros((2, 3)), goals, 5.0)
        with pytest.raises(ConfigError, match="shape"):
            shortest_lengths(np.zeros((3, 2)), goals, 5.0)

    def test_unknown_kind(self) -> None:
        with pytest.raises(ConfigError, match="unknown curve kind"):
            shortest((0.0, 0.0, 0.0), (1.0, 0.0, 0.0), 5.0, kind="clothoid")  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match="unknown curve kind"):
            shortest_lengths(np.zeros((1, 3)), np.ones((1, 3)), 5.0, kind="dubin")  # type: ignore[arg-type]

    def test_bad_step(self) -> None:
        c = shortest((0.0, 0.0, 0.0), (10.0, 0.0, 0.0), 5.0)
        for step in (0.0, -1.0, math.nan, math.inf):
            with pytest.raises(ConfigError, match="step_m"):
                c.sample(step)
        with pytest.raises(ConfigError, match="more than"):
            c.sample(1e-9)
        with pytest.raises(ConfigError, match="words"):
            sample_curves(np.zeros((1, 3)), [7], [c.params], 5.0, 1.0)

    def test_word_name(self) -> None:
        assert word_name("dubins", 4) == "RLR"
        with pytest.raises(ConfigError):
            word_name("dubins", 9)


@pytest.mark.peers
class TestAgainstOMPL:
    """Lengths agree with OMPL's state spaces (the reference implementation of the literature)."""

    @staticmethod
    def _ompl_lengths(space: object, starts: np.ndarray, goals: np.ndarray) -> np.ndarray:
        a, b = space.allocState(), space.allocState()  # type: ignore[attr-defined]
        out = np.empty(len(starts))
        for i, (s, g) in enumerate(zip(starts.tolist(), goals.tolist())):
            a.setX(s[0]), a.setY(s[1]), a.setYaw(s[2])
            b.setX(g[0]), b.setY(g[1]), b.setYaw(g[2])
            out[i] = space.distance(a, b)  # type: ignore[attr-defined]
        return out

    @pytest.mark.parametrize("radius", [0.5, 5.0, 37.0])
    def test_dubins_random_pairs(self, radius: float) -> None:
        ob = pytest.importorskip("ompl.base")
        starts, goals = _random_pairs(3000, seed=int(radius * 10))
        near = goals.copy()                      # a third of the pairs closer than 4 r
        near[:, :2] = starts[:, :2] + np.random.default_rng(7).uniform(-2, 2, (3000, 2)) * radius
        goals[::3] = near[::3]
        ours = shortest_lengths(starts, goals, radius)[0]
        theirs = self._ompl_lengths(ob.DubinsStateSpace(radius), starts, goals)
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=0)

    @pytest.mark.parametrize("radius", [0.5, 5.0, 37.0])
    def test_reeds_shepp_random_pairs(self, radius: float) -> None:
        ob = pytest.importorskip("ompl.base")
        starts, goals = _random_pairs(3000, seed=int(radius * 10) + 1)
        goals[::3, :2] = starts[::3, :2] + np.random.default_rng(8).uniform(-2, 2, (1000, 2)) * radius
        ours = shortest_lengths(starts, goals, radius, "reeds-shepp")[0]
        theirs = self._ompl_lengths(ob.ReedsSheppStateSpace(radius), starts, goals)
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=0)

    def test_reeds_shepp_edge_cases(self) -> None:
        ob = pytest.importorskip("ompl.base")
        r = 5.0
        starts = np.array([[0, 0, 0], [1, 2, 0.3], [0, 0, 0], [0, 0, PI], [0, 0, -PI], [0, 0, 0], [0, 0, 0],
                           [0, 0, PI / 2]], dtype=float)
        goals = np.array([[10, 0, 0], [1, 2, 0.3], [0, 10, PI], [0, 0, 0], [0, 0, PI], [0, 0, PI],
                          [1e-3, 1e-3, 0], [0, -7, PI / 2]], dtype=float)
        ours = shortest_lengths(starts, goals, r, "reeds-shepp")[0]
        theirs = self._ompl_lengths(ob.ReedsSheppStateSpace(r), starts, goals)
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-12)

    def test_dubins_edge_cases(self) -> None:
        ob = pytest.importorskip("ompl.base")
        r = 5.0
        starts = np.array([[0, 0, 0], [1, 2, 0.3], [0, 0, 0], [0, 0, PI], [0, 0, -PI], [0, 0, 0], [0, 0, 0]],
                          dtype=float)
        goals = np.array([[10, 0, 0], [1, 2, 0.3], [0, 10, PI], [0, 0, 0], [0, 0, PI], [0, 0, PI],
                          [1e-3, 1e-3, 0]], dtype=float)
        ours = shortest_lengths(starts, goals, r)[0]
        theirs = self._ompl_lengths(ob.DubinsStateSpace(r), starts, goals)
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-12)
