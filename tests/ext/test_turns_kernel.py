"""The compiled turn-curve kernel against its numpy reference (random and edge-case poses)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
from agrifleet.ext import kernel
from hypothesis import given
from hypothesis import strategies as st

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


KINDS = [("dubins", np.int8, 3), ("reeds_shepp", np.int16, 5)]
kinds = pytest.mark.parametrize("kind, word_dtype, n_params", KINDS)


def fn(module: object, kind: str, name: str):
    """``module.<kind>_<name>``, e.g. ``fn(K, "dubins", "shortest")`` is ``K.dubins_shortest``."""
    return getattr(module, f"{kind}_{name}")


@kinds
@given(case=pose_pairs())
def test_shortest_matches_reference(kind: str, word_dtype: type, n_params: int,
                                    case: tuple[np.ndarray, np.ndarray, float]) -> None:
    q0, q1, r = case
    lk, wk, pk = fn(K, kind, "shortest")(q0, q1, r)
    lr, wr, pr = fn(R, kind, "shortest")(q0, q1, r)
    assert wk.dtype == word_dtype and wr.dtype == word_dtype and pk.shape == pr.shape == (len(q0), n_params)
    np.testing.assert_allclose(lk, lr, rtol=1e-9, atol=1e-9 * r)
    np.testing.assert_allclose(lk, np.abs(pk).sum(axis=1), rtol=1e-12, atol=1e-12 * r)
    end = fn(R, kind, "end")
    close = np.isclose(pk, pr, rtol=1e-9, atol=1e-9 * r).all(axis=1)
    for i in np.flatnonzero((wk != wr) | ~close):
        # Equal lengths, different paths: a tie between words, or a zero-length segment whose neighbours
        # can be split anywhere. Both must end at the goal.
        for word, par in ((wk[i], pk[i]), (wr[i], pr[i])):
            e = np.array(end(q0[i], word, par, r))
            assert np.hypot(*(e[:2] - q1[i, :2])) < 1e-6 * max(r, 1.0) and _angle_diff(e[2], q1[i, 2]) < 1e-6


@kinds
@given(case=pose_pairs())
def test_one_equals_batch(kind: str, word_dtype: type, n_params: int,
                          case: tuple[np.ndarray, np.ndarray, float]) -> None:
    q0, q1, r = case
    lengths, words, params = fn(K, kind, "shortest")(q0, q1, r)
    for i in range(len(q0)):
        start, length, word, par = fn(K, kind, "one")(tuple(q0[i]), tuple(q1[i]), r)
        assert start == tuple(q0[i])
        assert (length, word, par) == (lengths[i], words[i], tuple(params[i]))


@kinds
@given(case=pose_pairs(), step_m=st.floats(0.05, 20.0))
def test_sample_matches_reference(kind: str, word_dtype: type, n_params: int,
                                  case: tuple[np.ndarray, np.ndarray, float], step_m: float) -> None:
    q0, q1, r = case
    _, words, params = fn(R, kind, "shortest")(q0, q1, r)
    for i in range(len(q0)):
        if np.abs(params[i]).sum() / step_m > 2e4:
            continue
        pk = getattr(K, f"sample_{kind}")(q0[i], words[i], params[i], r, step_m)
        pr = getattr(R, f"sample_{kind}")(q0[i], words[i], params[i], r, step_m)
        assert pk.shape == pr.shape
        np.testing.assert_allclose(pk[:, [0, 1, 3]], pr[:, [0, 1, 3]], rtol=0, atol=1e-9 * max(1.0, r))
        assert _angle_diff(pk[:, 2], pr[:, 2]).max() < 1e-9
        e = fn(K, kind, "end")(q0[i], words[i], params[i], r)
        assert e == pytest.approx(tuple(pk[-1, :3]), abs=1e-12 * max(1, r))


@kinds
@given(case=pose_pairs(), step_m=st.floats(0.2, 10.0))
def test_sample_many_is_the_concatenation(kind: str, word_dtype: type, n_params: int,
                                          case: tuple[np.ndarray, np.ndarray, float], step_m: float) -> None:
    q0, q1, r = case
    _, words, params = fn(K, kind, "shortest")(q0, q1, r)
    if np.abs(params).sum() / step_m > 2e4:
        return
    for mod in (K, R):
        points, offsets = getattr(mod, f"sample_{kind}_many")(q0, words, params, r, step_m)
        assert offsets[0] == 0 and offsets[-1] == len(points) and offsets.dtype == np.int64
        for i in range(len(q0)):
            single = getattr(mod, f"sample_{kind}")(q0[i], words[i], params[i], r, step_m)
            np.testing.assert_array_equal(points[offsets[i]:offsets[i + 1]], single)


@kinds
def test_bad_input_gives_nan_and_word_minus_one(kind: str, word_dtype: type, n_params: int) -> None:
    q0 = np.array([[0.0, 0.0, 0.0], [np.nan, 0.0, 0.0], [0.0, 0.0, np.inf]])
    q1 = np.array([[10.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    for mod in (K, R):
        lengths, words, params = fn(mod, kind, "shortest")(q0, q1, 5.0)
        assert lengths[0] == pytest.approx(10.0) and words[0] >= 0
        assert np.isnan(lengths[1:]).all() and (words[1:] == -1).all() and np.isnan(params[1:]).all()
        assert np.isnan(fn(mod, kind, "shortest")(q0[:1], q1[:1], -1.0)[0]).all()
        assert fn(mod, kind, "one")((0, 0, 0), (1, 0, math.nan), 5.0)[2] == -1
        with pytest.raises(ValueError):
            fn(mod, kind, "shortest")(np.zeros((2, 3)), np.zeros((3, 3)), 5.0)
        sample = getattr(mod, f"sample_{kind}")
        with pytest.raises(ValueError):
            sample((0, 0, 0), 18, (1.0,) * n_params, 5.0, 1.0)
        with pytest.raises(ValueError):
            sample((0, 0, 0), 0, (1.0,) * n_params, 5.0, 0.0)
        with pytest.raises(ValueError):
            sample((0, 0, 0), 0, (1.0,) * n_params, math.nan, 1.0)


@kinds
def test_empty_batches(kind: str, word_dtype: type, n_params: int) -> None:
    for mod in (K, R):
        lengths, words, params = fn(mod, kind, "shortest")(np.empty((0, 3)), np.empty((0, 3)), 5.0)
        assert lengths.shape == (0,) and words.shape == (0,) and params.shape == (0, n_params)
        points, offsets = getattr(mod, f"sample_{kind}_many")(np.empty((0, 3)), np.empty(0, word_dtype),
                                                             np.empty((0, n_params)), 5.0, 1.0)
        assert points.shape == (0, 4) and offsets.tolist() == [0]


def test_word_tables_agree() -> None:
    assert K.DUBINS_WORDS == R.DUBINS_WORDS and K.REEDS_SHEPP_WORDS == R.REEDS_SHEPP_WORDS
    assert K.SEGMENT_TINY == R.SEGMENT_TINY


@dataclass(frozen=True, slots=True)
class _Curve:
    """A stand-in for planners.curves.Curve: the kernel fills any frozen slots class with CURVE_FIELDS."""

    kind: str
    start: tuple
    word: int
    params: tuple
    radius_m: float
    length_m: float


@kinds
@given(case=pose_pairs())
def test_curve_equals_one(kind: str, word_dtype: type, n_params: int,
                          case: tuple[np.ndarray, np.ndarray, float]) -> None:
    q0, q1, r = case
    assert tuple(_Curve.__dataclass_fields__) == K.CURVE_FIELDS == R.CURVE_FIELDS
    for mod in (K, R):
        for i in range(len(q0)):
            start, length, word, params = fn(mod, kind, "one")(tuple(q0[i]), tuple(q1[i]), r)
            c = fn(mod, kind, "curve")(_Curve, tuple(q0[i]), tuple(q1[i]), r)
            assert type(c) is _Curve
            assert c == _Curve(kind.replace("_", "-"), start, word, params, r, length)
    assert fn(K, kind, "curve")(_Curve, (0.0, 0.0, 0.0), (math.inf, 0.0, 0.0), 1.0) is None


@given(st.floats(-1e4, 1e4))
def test_fast_sincos_is_libm_to_a_few_ulps(x: float) -> None:
    s, c = K._fast_sincos(x)
    assert abs(s - math.sin(x)) <= 5e-16 and abs(c - math.cos(x)) <= 5e-16


@given(st.one_of(st.floats(-1e6, 1e6), st.sampled_from([0.0, -0.0, 1e-300, -1e-300])),
       st.one_of(st.floats(-1e6, 1e6), st.sampled_from([0.0, -0.0, 1e-300, -1e-300])))
def test_fast_atan2_is_libm_to_a_few_ulps(y: float, x: float) -> None:
    a, b = K._fast_atan2(y, x), math.atan2(y, x)
    assert abs(a - b) <= 1e-15
    assert math.copysign(1.0, a) == math.copysign(1.0, b)      # signed zeros and +-pi as libm


@given(case=pose_pairs())
def test_dubins_simd_lanes_give_the_scalar_search_answer(case: tuple[np.ndarray, np.ndarray, float]) -> None:
    """Four pairs per block on the SIMD lanes (where the CPU has them) against the scalar search."""
    q0, q1, r = case
    was = K._simd()
    try:
        K._simd(False)
        ls, ws, ps = K.dubins_shortest(q0, q1, r)
        K._simd(True)
        lv, wv, pv = K.dubins_shortest(q0, q1, r)
        one = [K.dubins_one(tuple(a), tuple(b), r) for a, b in zip(q0, q1)]
    finally:
        K._simd(was)
    np.testing.assert_allclose(lv, ls, rtol=1e-12, atol=1e-12 * r)
    same = ws == wv
    np.testing.assert_allclose(pv[same], ps[same], rtol=1e-9, atol=1e-9 * r)
    assert [o[1] for o in one] == list(lv) and [o[2] for o in one] == list(wv)   # alone or in a block: same bits
