"""The compiled turn-curve kernel against its numpy reference (random and edge-case poses)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

from agrifleet.ext import kernel

pytestmark = pytest.mark.kernels

K = kernel("turns")
R = kernel("turns", reference=True)

coord = st.floats(-100.0, 100.0, allow_nan=False)
heading = st.one_of(st.floats(-math.pi, math.pi), st.sampled_from([0.0, math.pi, -math.pi, math.pi / 2]))
pose = st.tuples(coord, coord, heading)
radius = st.one_of(st.floats(0.5, 40.0), st.sampled_from([1e-3, 5.0]))


@st.composite
def pose_pairs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, float]:
    """Pairs mixing the cases that break turn code: random, near (< 4 r), identical, U-turns, tiny radius."""
    r = draw(radius)
    n = draw(st.integers(1, 12))
    q0 = np.array([draw(pose) for _ in range(n)])
    q1 = np.empty_like(q0)
    for i in range(n):
        case = draw(st.sampled_from(["random", "near", "same", "uturn", "ahead"]))
        x, y, h = q0[i]
        if case == "random":
            q1[i] = draw(pose)
        elif case == "near":
            dist = draw(st.floats(0.0, 4.0)) * r
            ang = draw(heading)
            q1[i] = x + dist * math.cos(ang), y + dist * math.sin(ang), draw(heading)
        elif case == "same":
            q1[i] = q0[i]
        elif case == "uturn":    # the next swath at k * 2r, the coverage planner's everyday turn
            off = draw(st.sampled_from([-2, -1, 1, 2, 3])) * 2.0 * r
            q1[i] = x - off * math.sin(h), y + off * math.cos(h), h + math.pi
        else:                    # straight ahead, same heading
            dist = draw(st.floats(0.0, 50.0))
            q1[i] = x + dist * math.cos(h), y + dist * math.sin(h), h
    return q0, q1, r


def _angle_diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs((np.asarray(a) - np.asarray(b) + math.pi) % (2 * math.pi) - math.pi)


@given(pose_pairs())
def test_dubins_shortest_matches_reference(case: tuple[np.ndarray, np.ndarray, float]) -> None:
    q0, q1, r = case
    lk, wk, pk = K.dubins_shortest(q0, q1, r)
    lr, wr, pr = R.dubins_shortest(q0, q1, r)
    assert wk.dtype == np.int8 and pk.shape == (len(q0), 3)
    np.testing.assert_allclose(lk, lr, rtol=1e-9, atol=1e-9 * r)
    np.testing.assert_allclose(lk, pk.sum(axis=1), rtol=1e-12, atol=1e-12 * r)
    close = np.isclose(pk, pr, rtol=1e-9, atol=1e-9 * r).all(axis=1)
    for i in np.flatnonzero((wk != wr) | ~close):
        # Either a tie between two words of equal length, or a CSC word whose straight has length 0 (its two
        # arcs then form one arc, split anywhere by rounding). Both paths must end at the same pose.
        assert wk[i] != wr[i] or (wk[i] < 4 and pk[i, 1] < 1e-6 * r)
        ek = np.array(R.dubins_end(q0[i], wk[i], pk[i], r))
        er = np.array(R.dubins_end(q0[i], wr[i], pr[i], r))
        assert np.hypot(*(ek[:2] - er[:2])) < 1e-6 * r and _angle_diff(ek[2], er[2]) < 1e-6


@given(pose_pairs())
def test_dubins_one_equals_batch(case: tuple[np.ndarray, np.ndarray, float]) -> None:
    q0, q1, r = case
    lengths, words, params = K.dubins_shortest(q0, q1, r)
    for i in range(len(q0)):
        start, length, word, par = K.dubins_one(tuple(q0[i]), tuple(q1[i]), r)
        assert start == tuple(q0[i])
        assert (length, word, par) == (lengths[i], words[i], tuple(params[i]))


@given(pose_pairs(), st.floats(0.05, 20.0))
def test_sample_dubins_matches_reference(case: tuple[np.ndarray, np.ndarray, float], step_m: float) -> None:
    q0, q1, r = case
    _, words, params = R.dubins_shortest(q0, q1, r)
    for i in range(len(q0)):
        if params[i].sum() / step_m > 2e4:
            continue
        pk = K.sample_dubins(q0[i], words[i], params[i], r, step_m)
        pr = R.sample_dubins(q0[i], words[i], params[i], r, step_m)
        assert pk.shape == pr.shape
        np.testing.assert_allclose(pk[:, [0, 1, 3]], pr[:, [0, 1, 3]], rtol=0, atol=1e-9 * max(1.0, r))
        assert _angle_diff(pk[:, 2], pr[:, 2]).max() < 1e-9
        assert K.dubins_end(q0[i], words[i], params[i], r) == pytest.approx(pk[-1, :3], abs=1e-12 * max(1, r))


@given(pose_pairs(), st.floats(0.2, 10.0))
def test_sample_dubins_many_is_the_concatenation(case: tuple[np.ndarray, np.ndarray, float],
                                                 step_m: float) -> None:
    q0, q1, r = case
    _, words, params = K.dubins_shortest(q0, q1, r)
    if params.sum() / step_m > 2e4:
        return
    for mod in (K, R):
        points, offsets = mod.sample_dubins_many(q0, words, params, r, step_m)
        assert offsets[0] == 0 and offsets[-1] == len(points) and offsets.dtype == np.int64
        for i in range(len(q0)):
            single = mod.sample_dubins(q0[i], words[i], params[i], r, step_m)
            np.testing.assert_array_equal(points[offsets[i]:offsets[i + 1]], single)


def test_bad_input_gives_nan_and_word_minus_one() -> None:
    q0 = np.array([[0.0, 0.0, 0.0], [np.nan, 0.0, 0.0], [0.0, 0.0, np.inf]])
    q1 = np.array([[10.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    for mod in (K, R):
        lengths, words, params = mod.dubins_shortest(q0, q1, 5.0)
        assert lengths[0] == pytest.approx(10.0) and words[0] == 0
        assert np.isnan(lengths[1:]).all() and (words[1:] == -1).all() and np.isnan(params[1:]).all()
        assert np.isnan(mod.dubins_shortest(q0[:1], q1[:1], -1.0)[0]).all()
        assert mod.dubins_one((0, 0, 0), (1, 0, math.nan), 5.0)[2] == -1
        with pytest.raises(ValueError):
            mod.dubins_shortest(np.zeros((2, 3)), np.zeros((3, 3)), 5.0)
        with pytest.raises(ValueError):
            mod.sample_dubins((0, 0, 0), 6, (1.0, 1.0, 1.0), 5.0, 1.0)
        with pytest.raises(ValueError):
            mod.sample_dubins((0, 0, 0), 0, (1.0, 1.0, 1.0), 5.0, 0.0)


def test_empty_batches() -> None:
    for mod in (K, R):
        lengths, words, params = mod.dubins_shortest(np.empty((0, 3)), np.empty((0, 3)), 5.0)
        assert lengths.shape == (0,) and words.shape == (0,) and params.shape == (0, 3)
        points, offsets = mod.sample_dubins_many(np.empty((0, 3)), np.empty(0, np.int8), np.empty((0, 3)),
                                                 5.0, 1.0)
        assert points.shape == (0, 4) and offsets.tolist() == [0]
