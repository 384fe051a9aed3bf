/* Shortest Dubins paths four pairs at a time (AVX2 + FMA), for the batch and single calls of _turns.
 *
 * The scalar search (_turns_dubins.pyx) is a chain of dependent steps per pair: sin/cos, bounds, atan2,
 * reductions. It keeps a core busy at under two instructions per cycle and gains nothing from SSE2 auto-
 * vectorisation. Here the same computation runs across pairs: one lane per pair, every Dubins word
 * evaluated (no pruning, no branches per pair), the shortest kept in OMPL's order with strict "<", so
 * that ties resolve as in OMPL. The formulas are those of the scalar fast path (circle centres in the
 * start's frame; OMPL's angle reduction and snapping in turns_dmod4); a pair near one of OMPL's thresholds
 * (the cases where the scalar fast path hands over to its transcription of OMPL) is flagged for the scalar
 * search instead, as is a non-finite pose or a heading beyond 1e5 rad.
 *
 * acos(t) is computed as atan2(sqrt((1 - t)(1 + t)), t). sin/cos and atan2 are the scalar kernels' series
 * (errors of a few 1e-16), evaluated with fused multiply-adds.
 *
 * The caller must run a pair through the same routine whether it comes alone or in a batch (lanes never
 * mix), which keeps single and batch answers bit-identical. Runtime dispatch: turns_simd_available() says
 * whether this CPU runs the AVX2 code; elsewhere (other CPUs, other compilers) everything is scalar.
 */
#ifndef AGRIFLEET_TURNS_SIMD_H
#define AGRIFLEET_TURNS_SIMD_H

#include <math.h>

#if defined(__GNUC__) && defined(__x86_64__) && !defined(AGRIFLEET_NO_SIMD)
#define TURNS_SIMD_COMPILED 1
#include <immintrin.h>
#else
#define TURNS_SIMD_COMPILED 0
#endif

/* 1 when the CPU runs the AVX2 + FMA code (decided once, at module import). */
static int turns_simd_detect(void) {
#if TURNS_SIMD_COMPILED
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

#if TURNS_SIMD_COMPILED
#define TURNS_TGT __attribute__((target("avx2,fma"), always_inline)) static inline
#define TURNS_TGT_FN __attribute__((target("avx2,fma"), unused)) static

TURNS_TGT __m256d tv(double x) { return _mm256_set1_pd(x); }
TURNS_TGT __m256d tv_abs(__m256d x) { return _mm256_andnot_pd(_mm256_set1_pd(-0.0), x); }
/* m ? a : b, lane by lane (m all ones or all zeros) */
TURNS_TGT __m256d tv_sel(__m256d m, __m256d a, __m256d b) { return _mm256_blendv_pd(b, a, m); }
TURNS_TGT __m256d tv_lt(__m256d a, __m256d b) { return _mm256_cmp_pd(a, b, _CMP_LT_OQ); }
TURNS_TGT __m256d tv_gt(__m256d a, __m256d b) { return _mm256_cmp_pd(a, b, _CMP_GT_OQ); }
TURNS_TGT __m256d tv_ge(__m256d a, __m256d b) { return _mm256_cmp_pd(a, b, _CMP_GE_OQ); }

/* sin and cos: reduction by pi/2 in three parts (k * HI and k * MID exact), Taylor series on [-pi/4, pi/4]. */
TURNS_TGT void tv_sincos(__m256d x, __m256d* s, __m256d* c) {
    const __m256d k = _mm256_round_pd(_mm256_mul_pd(x, tv(2.0 / M_PI)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256d r = _mm256_fnmadd_pd(k, tv(1.5707963109016418), x);
    r = _mm256_fnmadd_pd(k, tv(1.5893254712295857e-08), r);
    r = _mm256_fnmadd_pd(k, tv(6.123233995736766e-17), r);
    const __m256d r2 = _mm256_mul_pd(r, r);
    __m256d ps = tv(1.0 / 355687428096000.0);
    ps = _mm256_fmadd_pd(ps, r2, tv(-1.0 / 1307674368000.0));
    ps = _mm256_fmadd_pd(ps, r2, tv(1.0 / 6227020800.0));
    ps = _mm256_fmadd_pd(ps, r2, tv(-1.0 / 39916800.0));
    ps = _mm256_fmadd_pd(ps, r2, tv(1.0 / 362880.0));
    ps = _mm256_fmadd_pd(ps, r2, tv(-1.0 / 5040.0));
    ps = _mm256_fmadd_pd(ps, r2, tv(1.0 / 120.0));
    ps = _mm256_fmadd_pd(ps, r2, tv(-1.0 / 6.0));
    const __m256d sr = _mm256_fmadd_pd(_mm256_mul_pd(r, r2), ps, r);
    __m256d pc = tv(1.0 / 20922789888000.0);
    pc = _mm256_fmadd_pd(pc, r2, tv(-1.0 / 87178291200.0));
    pc = _mm256_fmadd_pd(pc, r2, tv(1.0 / 479001600.0));
    pc = _mm256_fmadd_pd(pc, r2, tv(-1.0 / 3628800.0));
    pc = _mm256_fmadd_pd(pc, r2, tv(1.0 / 40320.0));
    pc = _mm256_fmadd_pd(pc, r2, tv(-1.0 / 720.0));
    pc = _mm256_fmadd_pd(pc, r2, tv(1.0 / 24.0));
    pc = _mm256_fmadd_pd(pc, r2, tv(-0.5));
    const __m256d cr = _mm256_fmadd_pd(pc, r2, tv(1.0));
    /* quadrant q = k mod 4: 1 -> (c, -s), 2 -> (-s, -c), 3 -> (-c, s) */
    const __m256d q = _mm256_fnmadd_pd(tv(4.0), _mm256_floor_pd(_mm256_mul_pd(k, tv(0.25))), k);
    const __m256d odd = _mm256_cmp_pd(_mm256_sub_pd(q, _mm256_mul_pd(tv(2.0), _mm256_floor_pd(_mm256_mul_pd(q, tv(0.5))))),
                                      tv(1.0), _CMP_EQ_OQ);
    const __m256d neg = _mm256_and_pd(tv_ge(q, tv(2.0)), tv(-0.0));
    const __m256d ss = tv_sel(odd, cr, sr);
    const __m256d cc = tv_sel(odd, _mm256_xor_pd(sr, tv(-0.0)), cr);
    *s = _mm256_xor_pd(ss, neg);
    *c = _mm256_xor_pd(cc, neg);
}

/* atan2: octant reduction, atan(z) = atan(k/8) + atan((z - k/8) / (1 + z k/8)) with |argument| <~ 1/16,
   z = min(|x|, |y|) / max(|x|, |y|). k comes from a single-precision estimate of z, and the argument is
   formed in one division, (n - d k/8) / (d + n k/8): one division per atan2, no table gather (atan(k/8) is
   picked with blends). (+-0, +-0) as libm. */
TURNS_TGT __m256d tv_atan2(__m256d y, __m256d x) {
    const __m256d ax = tv_abs(x), ay = tv_abs(y);
    const __m256d swap = tv_gt(ay, ax);
    const __m256d num = _mm256_min_pd(ax, ay), den = _mm256_max_pd(ax, ay);
    /* both scaled by 2^-exponent(den) first, so that single precision neither overflows nor underflows */
    const __m256d scale = _mm256_castsi256_pd(_mm256_sub_epi64(
        _mm256_set1_epi64x(0x7FE0000000000000LL), _mm256_and_si256(_mm256_castpd_si256(den), _mm256_set1_epi64x(0x7FF0000000000000LL))));
    const __m256d zest = _mm256_cvtps_pd(_mm_mul_ps(_mm256_cvtpd_ps(_mm256_mul_pd(num, scale)),
                                                    _mm_rcp_ps(_mm256_cvtpd_ps(_mm256_mul_pd(den, scale)))));
    __m256d k = _mm256_round_pd(_mm256_mul_pd(zest, tv(8.0)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    k = _mm256_max_pd(_mm256_min_pd(k, tv(8.0)), tv(0.0));          /* NaN (0 / 0) -> 8; see the end */
    const __m256d ck = _mm256_mul_pd(k, tv(0.125));
    const __m256d u = _mm256_div_pd(_mm256_fnmadd_pd(den, ck, num), _mm256_fmadd_pd(num, ck, den));
    const __m256d u2 = _mm256_mul_pd(u, u);
    __m256d p = tv(1.0 / 13.0);
    p = _mm256_fmadd_pd(p, u2, tv(-1.0 / 11.0));
    p = _mm256_fmadd_pd(p, u2, tv(1.0 / 9.0));
    p = _mm256_fmadd_pd(p, u2, tv(-1.0 / 7.0));
    p = _mm256_fmadd_pd(p, u2, tv(0.2));
    p = _mm256_fmadd_pd(p, u2, tv(-1.0 / 3.0));
    p = _mm256_fmadd_pd(_mm256_mul_pd(p, u2), u, u);
    __m256d base = tv(0.0);                                           /* atan(k / 8) */
    base = tv_sel(tv_ge(k, tv(1.0)), tv(0.12435499454676144), base);
    base = tv_sel(tv_ge(k, tv(2.0)), tv(0.24497866312686414), base);
    base = tv_sel(tv_ge(k, tv(3.0)), tv(0.35877067027057225), base);
    base = tv_sel(tv_ge(k, tv(4.0)), tv(0.4636476090008061), base);
    base = tv_sel(tv_ge(k, tv(5.0)), tv(0.5585993153435624), base);
    base = tv_sel(tv_ge(k, tv(6.0)), tv(0.6435011087932844), base);
    base = tv_sel(tv_ge(k, tv(7.0)), tv(0.7188299996216245), base);
    base = tv_sel(tv_ge(k, tv(8.0)), tv(0.7853981633974483), base);
    __m256d a = _mm256_add_pd(base, p);
    a = tv_sel(swap, _mm256_add_pd(_mm256_add_pd(_mm256_sub_pd(tv(1.5707963109016418), a), tv(1.5893254712295857e-08)),
                                   tv(6.123233995736766e-17)), a);
    a = tv_sel(tv_lt(x, tv(0.0)),
               _mm256_add_pd(_mm256_add_pd(_mm256_sub_pd(tv(2.0 * 1.5707963109016418), a), tv(2.0 * 1.5893254712295857e-08)),
                             tv(2.0 * 6.123233995736766e-17)), a);
    /* (+-0, +0) -> +-0 and (+-0, -0) -> +-pi, as libm */
    const __m256d both0 = _mm256_and_pd(_mm256_cmp_pd(ax, tv(0.0), _CMP_EQ_OQ), _mm256_cmp_pd(ay, tv(0.0), _CMP_EQ_OQ));
    const __m256d xneg = _mm256_castsi256_pd(_mm256_cmpgt_epi64(_mm256_setzero_si256(), _mm256_castpd_si256(x)));
    a = tv_sel(both0, _mm256_and_pd(xneg, tv(M_PI)), a);
    return _mm256_or_pd(tv_abs(a), _mm256_and_pd(y, tv(-0.0)));   /* copysign(a, y) */
}

/* OMPL's angle reduction to [0, 2 pi), with rounding noise around 0 and 2 pi snapped to 0. */
TURNS_TGT __m256d tv_dmod(__m256d x) {
    const __m256d two_pi = tv(2.0 * M_PI);
    __m256d m = _mm256_fnmadd_pd(two_pi, _mm256_floor_pd(_mm256_mul_pd(x, tv(0.5 / M_PI))), x);
    m = tv_sel(tv_lt(m, tv(0.0)), _mm256_add_pd(m, two_pi), m);
    m = tv_sel(tv_lt(_mm256_sub_pd(two_pi, m), tv(0.5e-6)), tv(0.0), m);
    return tv_sel(_mm256_and_pd(tv_lt(x, tv(0.0)), tv_gt(x, tv(-1e-7))), tv(0.0), m);
}

TURNS_TGT __m256d tv_near(__m256d a, double value, double tol) {
    return tv_lt(tv_abs(_mm256_sub_pd(a, tv(value))), tv(tol));
}

/* Keep (word, t, p, q, length) where the candidate exists and is strictly shorter. */
TURNS_TGT void tv_take(__m256d ok, __m256d w, __m256d t, __m256d p, __m256d q, __m256d* bw, __m256d* bt,
                       __m256d* bp, __m256d* bq, __m256d* bl) {
    const __m256d len = _mm256_add_pd(_mm256_add_pd(t, p), q);
    const __m256d better = _mm256_and_pd(ok, tv_lt(len, *bl));
    *bl = tv_sel(better, len, *bl);
    *bw = tv_sel(better, w, *bw);
    *bt = tv_sel(better, t, *bt);
    *bp = tv_sel(better, p, *bp);
    *bq = tv_sel(better, q, *bq);
}

/* Pairs 0 .. n-1 (n <= 4), poses at q0 + 3 i and q1 + 3 i, radius > 0 and finite. Writes length[i] (radii),
   word[i] and seg[3 i .. 3 i + 2] for the pairs it answers; returns the bit mask of those it leaves to the
   scalar search. Word numbers: LSL 0, LSR 1, RSL 2, RSR 3, RLR 4, LRL 5. */
TURNS_TGT_FN int turns_dubins_x4(const double* q0, const double* q1, int n, double radius, double* length,
                                 int* word, double* seg) {
    double out[5][4];
    /* lanes past n repeat the last pair; gathered straight into registers (no store-to-load round trip) */
    const __m128i idx = _mm_setr_epi32(0, 3 * (n > 1), 3 * (n > 2 ? 2 : n - 1), 3 * (n > 3 ? 3 : n - 1));
    const __m256d x0 = _mm256_i32gather_pd(q0, idx, 8), y0 = _mm256_i32gather_pd(q0 + 1, idx, 8);
    const __m256d h0 = _mm256_i32gather_pd(q0 + 2, idx, 8), x1 = _mm256_i32gather_pd(q1, idx, 8);
    const __m256d y1 = _mm256_i32gather_pd(q1 + 1, idx, 8), h1 = _mm256_i32gather_pd(q1 + 2, idx, 8);
    const __m256d zero = tv(0.0), inf = tv(INFINITY);
    /* finite poses, headings that the series reduce exactly */
    __m256d fine = _mm256_and_pd(_mm256_and_pd(_mm256_cmp_pd(_mm256_sub_pd(x0, x0), zero, _CMP_EQ_OQ),
                                               _mm256_cmp_pd(_mm256_sub_pd(y0, y0), zero, _CMP_EQ_OQ)),
                                 _mm256_and_pd(_mm256_cmp_pd(_mm256_sub_pd(x1, x1), zero, _CMP_EQ_OQ),
                                               _mm256_cmp_pd(_mm256_sub_pd(y1, y1), zero, _CMP_EQ_OQ)));
    fine = _mm256_and_pd(fine, _mm256_and_pd(tv_lt(tv_abs(h0), tv(1e5)), tv_lt(tv_abs(h1), tv(1e5))));
    const __m256d r = tv(radius);
    const __m256d x = _mm256_div_pd(_mm256_sub_pd(x1, x0), r), y = _mm256_div_pd(_mm256_sub_pd(y1, y0), r);
    __m256d s0, c0, s1, c1;
    tv_sincos(tv_sel(fine, h0, zero), &s0, &c0);
    tv_sincos(tv_sel(fine, h1, zero), &s1, &c1);
    const __m256d d2 = _mm256_fmadd_pd(x, x, _mm256_mul_pd(y, y));
    const __m256d dtol = _mm256_mul_pd(tv(1e-6), _mm256_sqrt_pd(d2));
    /* OMPL snaps a heading within ~1e-6 of the goal direction, and poses closer than 1e-3 radii are near
       its coincidence test: the scalar search decides those */
    __m256d hand = tv_lt(d2, tv(1e-6));
    hand = _mm256_or_pd(hand, _mm256_and_pd(tv_lt(tv_abs(_mm256_fmsub_pd(x, s0, _mm256_mul_pd(y, c0))), dtol),
                                            tv_gt(_mm256_fmadd_pd(x, c0, _mm256_mul_pd(y, s0)), zero)));
    hand = _mm256_or_pd(hand, _mm256_and_pd(tv_lt(tv_abs(_mm256_fmsub_pd(x, s1, _mm256_mul_pd(y, c1))), dtol),
                                            tv_gt(_mm256_fmadd_pd(x, c1, _mm256_mul_pd(y, s1)), zero)));
    /* circle centres: left to left (LSL, LRL), right to right (RSR, RLR), right to left (RSL), left to right */
    const __m256d lx = _mm256_add_pd(_mm256_sub_pd(x, s1), s0), ly = _mm256_sub_pd(_mm256_add_pd(y, c1), c0);
    const __m256d rx = _mm256_sub_pd(_mm256_add_pd(x, s1), s0), ry = _mm256_add_pd(_mm256_sub_pd(y, c1), c0);
    const __m256d rlx = _mm256_sub_pd(_mm256_sub_pd(x, s1), s0), rly = _mm256_add_pd(_mm256_add_pd(y, c1), c0);
    const __m256d lrx = _mm256_add_pd(_mm256_add_pd(x, s1), s0), lry = _mm256_sub_pd(_mm256_sub_pd(y, c1), c0);
    const __m256d l2 = _mm256_fmadd_pd(lx, lx, _mm256_mul_pd(ly, ly));
    const __m256d r2 = _mm256_fmadd_pd(rx, rx, _mm256_mul_pd(ry, ry));
    const __m256d rl2 = _mm256_fmadd_pd(rlx, rlx, _mm256_mul_pd(rly, rly));
    const __m256d lr2 = _mm256_fmadd_pd(lrx, lrx, _mm256_mul_pd(lry, lry));
    hand = _mm256_or_pd(hand, _mm256_or_pd(tv_lt(l2, tv(1e-10)), tv_lt(r2, tv(1e-10))));
    hand = _mm256_or_pd(hand, _mm256_or_pd(tv_near(rl2, 4.0, 1e-6), tv_near(lr2, 4.0, 1e-6)));
    hand = _mm256_or_pd(hand, _mm256_or_pd(tv_near(l2, 16.0, 1e-6), tv_near(r2, 16.0, 1e-6)));
    hand = _mm256_or_pd(hand, _mm256_xor_pd(fine, _mm256_castsi256_pd(_mm256_set1_epi64x(-1))));

    __m256d bw = zero, bt = zero, bp = zero, bq = zero, bl = inf;
    /* LSL */
    const __m256d pl = _mm256_sqrt_pd(l2), thl = tv_atan2(ly, lx);
    tv_take(tv_lt(zero, inf), tv(0.0), tv_dmod(_mm256_sub_pd(thl, h0)), pl, tv_dmod(_mm256_sub_pd(h1, thl)),
            &bw, &bt, &bp, &bq, &bl);
    /* RSR */
    const __m256d pr = _mm256_sqrt_pd(r2), thr = tv_atan2(ry, rx);
    tv_take(tv_lt(zero, inf), tv(3.0), tv_dmod(_mm256_sub_pd(h0, thr)), pr, tv_dmod(_mm256_sub_pd(thr, h1)),
            &bw, &bt, &bp, &bq, &bl);
    /* RSL: the straight leaves R0 and touches L1: the centre line turned by -atan2(2, p) */
    __m256d ok = tv_gt(rl2, tv(4.0));
    if (_mm256_movemask_pd(ok)) {
        const __m256d p = _mm256_sqrt_pd(_mm256_max_pd(_mm256_sub_pd(rl2, tv(4.0)), zero));
        const __m256d th = tv_atan2(_mm256_fmsub_pd(rly, p, _mm256_mul_pd(tv(2.0), rlx)),
                                    _mm256_fmadd_pd(rlx, p, _mm256_mul_pd(tv(2.0), rly)));
        tv_take(ok, tv(2.0), tv_dmod(_mm256_sub_pd(h0, th)), p, tv_dmod(_mm256_sub_pd(h1, th)),
                &bw, &bt, &bp, &bq, &bl);
    }
    /* LSR: ... by +atan2(2, p) */
    ok = tv_gt(lr2, tv(4.0));
    if (_mm256_movemask_pd(ok)) {
        const __m256d p = _mm256_sqrt_pd(_mm256_max_pd(_mm256_sub_pd(lr2, tv(4.0)), zero));
        const __m256d th = tv_atan2(_mm256_fmadd_pd(lry, p, _mm256_mul_pd(tv(2.0), lrx)),
                                    _mm256_fmsub_pd(lrx, p, _mm256_mul_pd(tv(2.0), lry)));
        tv_take(ok, tv(1.0), tv_dmod(_mm256_sub_pd(th, h0)), p, tv_dmod(_mm256_sub_pd(th, h1)),
                &bw, &bt, &bp, &bq, &bl);
    }
    /* RLR, LRL: the middle arc is 2 pi - acos(1 - |centre line|^2 / 8) */
    ok = tv_lt(r2, tv(16.0));
    if (_mm256_movemask_pd(ok)) {
        const __m256d c = _mm256_fnmadd_pd(tv(0.125), r2, tv(1.0));
        const __m256d sn = _mm256_sqrt_pd(_mm256_max_pd(_mm256_mul_pd(_mm256_sub_pd(tv(1.0), c), _mm256_add_pd(tv(1.0), c)), zero));
        const __m256d p = _mm256_sub_pd(tv(2.0 * M_PI), tv_atan2(sn, c));
        const __m256d t = tv_dmod(_mm256_fmadd_pd(tv(0.5), p, _mm256_sub_pd(h0, thr)));
        tv_take(ok, tv(4.0), t, p, tv_dmod(_mm256_add_pd(_mm256_sub_pd(_mm256_sub_pd(h0, h1), t), p)),
                &bw, &bt, &bp, &bq, &bl);
    }
    ok = tv_lt(l2, tv(16.0));
    if (_mm256_movemask_pd(ok)) {
        const __m256d c = _mm256_fnmadd_pd(tv(0.125), l2, tv(1.0));
        const __m256d sn = _mm256_sqrt_pd(_mm256_max_pd(_mm256_mul_pd(_mm256_sub_pd(tv(1.0), c), _mm256_add_pd(tv(1.0), c)), zero));
        const __m256d p = _mm256_sub_pd(tv(2.0 * M_PI), tv_atan2(sn, c));
        const __m256d t = tv_dmod(_mm256_fmadd_pd(tv(0.5), p, _mm256_sub_pd(thl, h0)));
        tv_take(ok, tv(5.0), t, p, tv_dmod(_mm256_add_pd(_mm256_sub_pd(_mm256_sub_pd(h1, h0), t), p)),
                &bw, &bt, &bp, &bq, &bl);
    }
    _mm256_storeu_pd(out[0], bl);
    _mm256_storeu_pd(out[1], bw);
    _mm256_storeu_pd(out[2], bt);
    _mm256_storeu_pd(out[3], bp);
    _mm256_storeu_pd(out[4], bq);
    const int scalar = _mm256_movemask_pd(hand) & ((1 << n) - 1);
    for (int j = 0; j < n; j++) {
        length[j] = out[0][j];
        word[j] = (int)out[1][j];
        seg[3 * j] = out[2][j];
        seg[3 * j + 1] = out[3][j];
        seg[3 * j + 2] = out[4][j];
    }
    return scalar;
}

/* ---------------------------------------------------------------------------------------------------------
 * Reeds-Shepp: the lanes are the four symmetries of one pair (identity, timeflip, reflect, both), so one
 * formula of Reeds & Shepp runs for the four candidates of a family at once. turns_rs_bounds gives every
 * candidate's lower bound (the scalar search's bounds, lane by lane); turns_rs_family evaluates one family
 * with OMPL's formula and acceptance tests. The goal is (x, y, phi) seen from the start at radius 1, with
 * s, c = sin, cos phi and (xb, yb) the start seen from the goal; |phi| < 4 pi (else the scalar search).
 */
#define TURNS_RS_ZERO 1e-10

/* OMPL's mod2pi bit for bit (fmod by 2 pi, then into [-pi, pi]) for |x| < 8 pi: the subtractions are exact. */
TURNS_TGT __m256d tv_rmod(__m256d x) {
    const __m256d two_pi = tv(2.0 * M_PI), ax = tv_abs(x), sign = _mm256_and_pd(x, tv(-0.0));
    __m256d m = tv_sel(tv_lt(ax, tv(4.0 * M_PI)), _mm256_sub_pd(ax, two_pi),
                       tv_sel(tv_lt(ax, tv(6.0 * M_PI)), _mm256_sub_pd(ax, tv(2.0 * (2.0 * M_PI))),
                              _mm256_sub_pd(ax, tv(3.0 * (2.0 * M_PI)))));
    __m256d v = tv_sel(tv_lt(ax, two_pi), x, _mm256_or_pd(m, sign));
    v = tv_sel(tv_lt(v, tv(-M_PI)), _mm256_add_pd(v, two_pi), tv_sel(tv_gt(v, tv(M_PI)), _mm256_sub_pd(v, two_pi), v));
    return v;
}

/* a mod 2 pi in [0, 2 pi) (a = OMPL's mod2pi + 2 pi when negative), 0 within 1e-9 of 2 pi */
TURNS_TGT __m256d tv_turn_ccw(__m256d a) {
    __m256d m = tv_rmod(a);
    m = tv_sel(tv_lt(m, tv(0.0)), _mm256_add_pd(m, tv(2.0 * M_PI)), m);
    return tv_sel(tv_lt(m, tv(2.0 * M_PI - 1e-9)), m, tv(0.0));
}

/* atan2(y, x) to within 1e-3 rad, for bounds: the ratio from single-precision reciprocals (relative error
   < 4e-4 with the exponents scaled out), atan on [0, 1] from Abramowitz & Stegun 4.4.49 (error < 1e-5). */
TURNS_TGT __m256d tv_atan2_rough(__m256d y, __m256d x) {
    const __m256d ax = tv_abs(x), ay = tv_abs(y);
    const __m256d num = _mm256_min_pd(ax, ay), den = _mm256_max_pd(ax, ay);
    const __m256d scale = _mm256_castsi256_pd(_mm256_sub_epi64(
        _mm256_set1_epi64x(0x7FE0000000000000LL), _mm256_and_si256(_mm256_castpd_si256(den), _mm256_set1_epi64x(0x7FF0000000000000LL))));
    __m256d z = _mm256_cvtps_pd(_mm_mul_ps(_mm256_cvtpd_ps(_mm256_mul_pd(num, scale)),
                                           _mm_rcp_ps(_mm256_cvtpd_ps(_mm256_mul_pd(den, scale)))));
    z = _mm256_max_pd(_mm256_min_pd(z, tv(1.0)), tv(0.0));            /* also 0 / 0 */
    const __m256d z2 = _mm256_mul_pd(z, z);
    __m256d p = tv(0.0208351);
    p = _mm256_fmadd_pd(p, z2, tv(-0.0851330));
    p = _mm256_fmadd_pd(p, z2, tv(0.1801410));
    p = _mm256_fmadd_pd(p, z2, tv(-0.3302995));
    p = _mm256_fmadd_pd(p, z2, tv(0.9998660));
    __m256d a = _mm256_mul_pd(p, z);
    a = tv_sel(tv_gt(ay, ax), _mm256_sub_pd(tv(0.5 * M_PI), a), a);
    a = tv_sel(tv_lt(x, tv(0.0)), _mm256_sub_pd(tv(M_PI), a), a);
    return _mm256_or_pd(a, _mm256_and_pd(y, tv(-0.0)));
}

/* A lower bound of t + ((t - m) mod 2 pi) over the arcs a formula can accept: t = angle(cx, cy) in [0, pi]
   (cy >= 0 by the pre-test), known to within 1e-3 from tv_atan2_rough, and the mod in [0, pi] (the second
   arc). With t >= m the sum is 2 t - m; with t <= m - pi it is 2 t - m + 2 pi (no other t has its mod in
   [0, pi]); each case at its smallest t. m in [0, 2 pi). Without a feasible case (a candidate its formula
   will refuse anyway) the shorter way round, min(m, 2 pi - m). */
TURNS_TGT __m256d tv_arc_sum(__m256d cx, __m256d cy, __m256d m) {
    const __m256d t = tv_atan2_rough(cy, cx), margin = tv(1e-9);
    const __m256d lo = _mm256_max_pd(_mm256_sub_pd(t, tv(2e-3)), tv(0.0));
    const __m256d hi = _mm256_add_pd(t, tv(2e-3));
    const __m256d two_pi = tv(2.0 * M_PI), inf = tv(INFINITY);
    const __m256d ta = _mm256_max_pd(lo, m);
    const __m256d a = tv_sel(_mm256_cmp_pd(ta, _mm256_add_pd(_mm256_min_pd(hi, tv(M_PI)), margin), _CMP_LE_OQ),
                             _mm256_fmsub_pd(tv(2.0), ta, m), inf);
    const __m256d b = tv_sel(_mm256_cmp_pd(lo, _mm256_add_pd(_mm256_sub_pd(m, tv(M_PI)), margin), _CMP_LE_OQ),
                             _mm256_add_pd(_mm256_fmsub_pd(tv(2.0), lo, m), two_pi), inf);
    const __m256d best = _mm256_min_pd(a, b);
    return tv_sel(tv_lt(best, inf), best, _mm256_min_pd(m, _mm256_sub_pd(two_pi, m)));
}

/* a mod 2 pi in [0, 2 pi) */
TURNS_TGT __m256d tv_mod2pi(__m256d a) {
    const __m256d m = tv_rmod(a);
    return tv_sel(tv_lt(m, tv(0.0)), _mm256_add_pd(m, tv(2.0 * M_PI)), m);
}

/* x >= -1e-9 (scale + 1): the scalar search's conservative pre-test of a sign */
TURNS_TGT __m256d tv_maybe(__m256d v, __m256d scale) {
    return tv_ge(v, _mm256_mul_pd(tv(-1e-9), _mm256_add_pd(scale, tv(1.0))));
}

TURNS_TGT __m256d tv_sqrt0(__m256d x) { return _mm256_sqrt_pd(_mm256_max_pd(x, tv(0.0))); }

/* acos and asin on [-1, 1] through atan2 (accurate at both ends) */
TURNS_TGT __m256d tv_acos(__m256d a) {
    a = _mm256_max_pd(_mm256_min_pd(a, tv(1.0)), tv(-1.0));
    return tv_atan2(tv_sqrt0(_mm256_mul_pd(_mm256_sub_pd(tv(1.0), a), _mm256_add_pd(tv(1.0), a))), a);
}

TURNS_TGT __m256d tv_asin(__m256d a) {
    a = _mm256_max_pd(_mm256_min_pd(a, tv(1.0)), tv(-1.0));
    return tv_atan2(a, tv_sqrt0(_mm256_mul_pd(_mm256_sub_pd(tv(1.0), a), _mm256_add_pd(tv(1.0), a))));
}

/* lane constants: goal seen under symmetry (x, y, phi) -> (SX x, SY y, SP phi) */
#define TURNS_SX _mm256_setr_pd(1.0, -1.0, 1.0, -1.0)
#define TURNS_SY _mm256_setr_pd(1.0, 1.0, -1.0, -1.0)
#define TURNS_SP _mm256_setr_pd(1.0, -1.0, -1.0, 1.0)

/* Lower bounds of the 44 candidates: lb[family][symmetry], INFINITY where the pre-tests rule it out
   (families in OMPL's order: 8.1, 8.2, 8.3, 8.3 backwards, 8.7, 8.8, 8.9, 8.10, 8.9 b., 8.10 b., 8.11). */
TURNS_TGT_FN void turns_rs_bounds(double x, double y, double phi, double s, double c, double xb, double yb,
                                  double lb[11][4]) {
    const __m256d inf = tv(INFINITY), zero = tv(0.0), sp = TURNS_SP, vc = tv(c), two_pi = tv(2.0 * M_PI);
    const __m256d ss = _mm256_mul_pd(sp, tv(s)), sphi = _mm256_mul_pd(sp, tv(phi));
    __m256d unit = tv_rmod(sphi);
    unit = tv_sel(tv_lt(unit, zero), _mm256_add_pd(unit, two_pi), unit);
    unit = tv_sel(_mm256_and_pd(tv_gt(unit, tv(1e-9)), tv_lt(unit, tv(2.0 * M_PI - 1e-9))), unit, zero);
    const __m256d turn = tv_abs(tv_rmod(tv(phi)));
    /* The arcs of 8.10 (t in [0, pi], v in [-pi, 0], v = t + pi/2 - phi modulo 2 pi) make t - v equal to
       psi = (phi - pi/2) mod 2 pi in [0, 2 pi), or psi + 2 pi: at least psi, tighter than the shorter way
       round that bounds 8.9 (whose t - v = 2 t - psi modulo 2 pi can reach either). Within 1e-9 of 2 pi,
       where OMPL's tolerances let t - v wrap, 0. */
    const __m256d quarter_ccw = tv_turn_ccw(_mm256_sub_pd(sphi, tv(0.5 * M_PI)));
    const __m256d m_turn = tv_mod2pi(sphi), m_quarter = tv_mod2pi(_mm256_sub_pd(sphi, tv(0.5 * M_PI)));
    const __m256d slack = tv(1e-7);                /* a bound must not exceed the length: room for rounding */
    for (int b = 0; b < 2; b++) {
        const __m256d gx = _mm256_mul_pd(TURNS_SX, tv(b ? xb : x)), gy = _mm256_mul_pd(TURNS_SY, tv(b ? yb : y));
        /* centre term (x - sin phi, y - 1 + cos phi): 8.1, 8.3, 8.9 */
        __m256d xi = _mm256_sub_pd(gx, ss), eta = _mm256_add_pd(_mm256_sub_pd(gy, tv(1.0)), vc);
        __m256d n2 = _mm256_fmadd_pd(xi, xi, _mm256_mul_pd(eta, eta));
        if (b == 0) {
            const __m256d ok = _mm256_and_pd(tv_maybe(eta, n2), tv_maybe(_mm256_fmsub_pd(ss, xi, _mm256_mul_pd(vc, eta)), n2));
            _mm256_storeu_pd(lb[0], tv_sel(ok, _mm256_sub_pd(_mm256_add_pd(_mm256_sqrt_pd(n2), unit), slack), inf));
        }
        {   /* C|C|C: |u| = 2 asin(r / 4) >= r / 2 + r^3 / 192 */
            const __m256d ok = _mm256_cmp_pd(n2, tv(16.0 + 1e-9), _CMP_LE_OQ), r = _mm256_sqrt_pd(n2);
            const __m256d w = _mm256_fmadd_pd(_mm256_mul_pd(r, n2), tv(1.0 / 192.0), _mm256_mul_pd(tv(0.5), r));
            _mm256_storeu_pd(lb[2 + b], tv_sel(ok, _mm256_sub_pd(_mm256_add_pd(w, tv_abs(tv_rmod(_mm256_sub_pd(sphi, w)))), slack), inf));
        }
        {   /* 8.9 */
            const __m256d w = tv_sqrt0(_mm256_sub_pd(n2, tv(4.0)));
            const __m256d cx = _mm256_fnmadd_pd(w, eta, _mm256_mul_pd(tv(-2.0), xi));
            const __m256d cy = _mm256_fmsub_pd(w, xi, _mm256_mul_pd(tv(2.0), eta));
            __m256d ok = _mm256_and_pd(tv_ge(n2, tv(4.0 - 1e-9)), _mm256_cmp_pd(_mm256_sub_pd(tv(2.0), w), tv(1e-9), _CMP_LE_OQ));
            ok = _mm256_and_pd(ok, _mm256_and_pd(tv_maybe(cy, n2), tv_maybe(_mm256_fmadd_pd(vc, cx, _mm256_mul_pd(ss, cy)), n2)));
            const __m256d arcs = tv_arc_sum(cx, cy, m_quarter);          /* t - v, v = -((t - m) mod 2 pi) */
            _mm256_storeu_pd(lb[6 + 2 * b], tv_sel(ok, _mm256_sub_pd(_mm256_add_pd(_mm256_add_pd(w, tv(0.5 * M_PI - 2.0)), arcs), slack), inf));
        }
        /* centre term (x + sin phi, y - 1 - cos phi): 8.2, 8.7, 8.8, 8.10, 8.11 */
        xi = _mm256_add_pd(gx, ss);
        eta = _mm256_sub_pd(_mm256_sub_pd(gy, tv(1.0)), vc);
        n2 = _mm256_fmadd_pd(xi, xi, _mm256_mul_pd(eta, eta));
        {   /* 8.10 */
            __m256d ok = _mm256_and_pd(tv_ge(n2, tv(4.0 - 1e-9)), tv_maybe(xi, n2));
            ok = _mm256_and_pd(ok, tv_maybe(_mm256_fmsub_pd(vc, eta, _mm256_mul_pd(ss, xi)), n2));
            _mm256_storeu_pd(lb[7 + 2 * b], tv_sel(ok, _mm256_sub_pd(_mm256_add_pd(_mm256_add_pd(_mm256_sqrt_pd(n2), tv(0.5 * M_PI - 2.0)), quarter_ccw), slack), inf));
        }
        if (b == 1)
            continue;
        {   /* 8.2 and 8.11 */
            const __m256d big = tv_ge(n2, tv(4.0 - 1e-9)), w = tv_sqrt0(_mm256_sub_pd(n2, tv(4.0)));
            __m256d cx = _mm256_fmsub_pd(w, xi, _mm256_mul_pd(tv(2.0), eta));
            __m256d cy = _mm256_fmadd_pd(w, eta, _mm256_mul_pd(tv(2.0), xi));
            __m256d ok = _mm256_and_pd(big, _mm256_and_pd(tv_maybe(cy, n2), tv_maybe(_mm256_fmsub_pd(cy, vc, _mm256_mul_pd(cx, ss)), n2)));
            _mm256_storeu_pd(lb[1], tv_sel(ok, _mm256_sub_pd(_mm256_add_pd(w, tv_arc_sum(cx, cy, m_turn)), slack), inf));
            const __m256d u = _mm256_sub_pd(tv(4.0), w);
            cx = _mm256_fnmadd_pd(w, eta, _mm256_mul_pd(tv(-2.0), xi));
            cy = _mm256_fmsub_pd(w, xi, _mm256_mul_pd(tv(2.0), eta));
            ok = _mm256_and_pd(_mm256_and_pd(big, _mm256_cmp_pd(u, tv(1e-9), _CMP_LE_OQ)),
                               _mm256_and_pd(tv_maybe(cy, n2), tv_maybe(_mm256_fmsub_pd(cy, vc, _mm256_mul_pd(cx, ss)), n2)));
            _mm256_storeu_pd(lb[10], tv_sel(ok, _mm256_sub_pd(_mm256_add_pd(_mm256_sub_pd(tv(M_PI), u), tv_arc_sum(cx, cy, m_turn)), slack), inf));
        }
        {   /* C C C C: the two middle arcs are |u| = acos(rho) >= sqrt(2 (1 - rho)) each */
            __m256d u = _mm256_mul_pd(tv(0.25), _mm256_add_pd(tv(2.0), _mm256_sqrt_pd(n2)));
            __m256d ok = _mm256_cmp_pd(n2, tv(4.0 + 1e-9), _CMP_LE_OQ);
            _mm256_storeu_pd(lb[4], tv_sel(ok, _mm256_sub_pd(_mm256_max_pd(turn, _mm256_mul_pd(tv(2.0), tv_sqrt0(_mm256_fnmadd_pd(tv(2.0), u, tv(2.0))))), slack), inf));
            const __m256d rest = _mm256_sub_pd(tv(20.0), n2);
            ok = _mm256_and_pd(tv_ge(rest, tv(-1e-9)), _mm256_cmp_pd(rest, tv(16.0 + 1e-9), _CMP_LE_OQ));
            u = _mm256_div_pd(rest, tv(16.0));
            _mm256_storeu_pd(lb[5], tv_sel(ok, _mm256_sub_pd(_mm256_add_pd(turn, _mm256_mul_pd(tv(2.0), tv_sqrt0(_mm256_fnmadd_pd(tv(2.0), u, tv(2.0))))), slack), inf));
        }
    }
}

/* tau and omega of Reeds & Shepp's C C C C formulas */
TURNS_TGT void tv_tau_omega(__m256d u, __m256d v, __m256d xi, __m256d eta, __m256d phi, __m256d* tau, __m256d* omega) {
    const __m256d delta = tv_rmod(_mm256_sub_pd(u, v));
    __m256d su, cu, sd, cd, sv, cv;
    tv_sincos(u, &su, &cu);
    tv_sincos(delta, &sd, &cd);
    tv_sincos(v, &sv, &cv);
    const __m256d a = _mm256_sub_pd(su, sd), b = _mm256_sub_pd(_mm256_sub_pd(cu, cd), tv(1.0));
    const __m256d t1 = tv_atan2(_mm256_fmsub_pd(eta, a, _mm256_mul_pd(xi, b)), _mm256_fmadd_pd(xi, a, _mm256_mul_pd(eta, b)));
    const __m256d t2 = _mm256_fmadd_pd(tv(2.0), _mm256_sub_pd(_mm256_sub_pd(cd, cv), cu), tv(3.0));
    *tau = tv_sel(tv_lt(t2, tv(0.0)), tv_rmod(_mm256_add_pd(t1, tv(M_PI))), tv_rmod(t1));
    *omega = tv_rmod(_mm256_sub_pd(_mm256_add_pd(_mm256_sub_pd(*tau, u), v), phi));
}

/* Family f (0..10, as in turns_rs_bounds) for the four symmetries: (t, u, v) as the formula gives them
   (before the timeflip's sign); returns the bit mask of the symmetries whose formula accepts. */
TURNS_TGT_FN int turns_rs_family(int f, double x, double y, double phi, double s, double c, double xb, double yb,
                                 double t_out[4], double u_out[4], double v_out[4]) {
    static const int backwards[11] = {0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0};
    static const int plus[11] = {0, 1, 0, 0, 1, 1, 0, 1, 0, 1, 1};
    const __m256d sp = TURNS_SP, zero = tv(0.0), neg_eps = tv(-TURNS_RS_ZERO), eps = tv(TURNS_RS_ZERO);
    const __m256d gx = _mm256_mul_pd(TURNS_SX, tv(backwards[f] ? xb : x));
    const __m256d gy = _mm256_mul_pd(TURNS_SY, tv(backwards[f] ? yb : y));
    const __m256d ph = _mm256_mul_pd(sp, tv(phi)), ss = _mm256_mul_pd(sp, tv(s)), vc = tv(c);
    const __m256d xi = plus[f] ? _mm256_add_pd(gx, ss) : _mm256_sub_pd(gx, ss);
    const __m256d eta = plus[f] ? _mm256_sub_pd(_mm256_sub_pd(gy, tv(1.0)), vc) : _mm256_add_pd(_mm256_sub_pd(gy, tv(1.0)), vc);
    const __m256d n2 = _mm256_fmadd_pd(xi, xi, _mm256_mul_pd(eta, eta));
    __m256d t = zero, u = zero, v = zero, ok = zero;
    switch (f) {
    case 0: {                                                               /* 8.1 L+ S+ L+ */
        u = _mm256_sqrt_pd(n2);
        t = tv_atan2(eta, xi);
        v = tv_rmod(_mm256_sub_pd(ph, t));
        ok = _mm256_and_pd(tv_ge(t, neg_eps), tv_ge(v, neg_eps));
        break; }
    case 1: {                                                               /* 8.2 L+ S+ R+ */
        __m256d u1 = _mm256_sqrt_pd(n2);
        u1 = _mm256_mul_pd(u1, u1);                  /* as OMPL: the threshold sees the same rounding */
        u = tv_sqrt0(_mm256_sub_pd(u1, tv(4.0)));
        t = tv_rmod(tv_atan2(_mm256_fmadd_pd(u, eta, _mm256_mul_pd(tv(2.0), xi)), _mm256_fmsub_pd(u, xi, _mm256_mul_pd(tv(2.0), eta))));
        v = tv_rmod(_mm256_sub_pd(t, ph));
        ok = _mm256_and_pd(tv_ge(u1, tv(4.0)), _mm256_and_pd(tv_ge(t, neg_eps), tv_ge(v, neg_eps)));
        break; }
    case 2: case 3: {                                                       /* 8.3 / 8.4 C|C|C */
        const __m256d u1 = _mm256_sqrt_pd(n2);
        u = _mm256_mul_pd(tv(-2.0), tv_asin(_mm256_mul_pd(tv(0.25), u1)));
        t = tv_rmod(_mm256_add_pd(_mm256_fmadd_pd(tv(0.5), u, tv_atan2(eta, xi)), tv(M_PI)));
        v = tv_rmod(_mm256_add_pd(_mm256_sub_pd(ph, t), u));
        ok = _mm256_and_pd(_mm256_cmp_pd(u1, tv(4.0), _CMP_LE_OQ), _mm256_and_pd(tv_ge(t, neg_eps), _mm256_cmp_pd(u, eps, _CMP_LE_OQ)));
        break; }
    case 4: {                                                               /* 8.7 L+ R+ L- R- */
        const __m256d rho = _mm256_mul_pd(tv(0.25), _mm256_add_pd(tv(2.0), _mm256_sqrt_pd(n2)));
        u = tv_acos(rho);
        tv_tau_omega(u, _mm256_sub_pd(zero, u), xi, eta, ph, &t, &v);
        ok = _mm256_and_pd(_mm256_cmp_pd(rho, tv(1.0), _CMP_LE_OQ), _mm256_and_pd(tv_ge(t, neg_eps), _mm256_cmp_pd(v, eps, _CMP_LE_OQ)));
        break; }
    case 5: {                                                               /* 8.8 L+ R- L- R+ */
        const __m256d rho = _mm256_div_pd(_mm256_sub_pd(tv(20.0), n2), tv(16.0));
        u = _mm256_sub_pd(zero, tv_acos(rho));
        tv_tau_omega(u, u, xi, eta, ph, &t, &v);
        ok = _mm256_and_pd(_mm256_and_pd(tv_ge(rho, zero), _mm256_cmp_pd(rho, tv(1.0), _CMP_LE_OQ)), tv_ge(u, tv(-0.5 * M_PI)));
        ok = _mm256_and_pd(ok, _mm256_and_pd(tv_ge(t, neg_eps), tv_ge(v, neg_eps)));
        break; }
    case 6: case 8: {                                                       /* 8.9 L+ R-(pi/2) S- L- */
        const __m256d rho = _mm256_sqrt_pd(n2), r = tv_sqrt0(_mm256_fmsub_pd(rho, rho, tv(4.0)));
        u = _mm256_sub_pd(tv(2.0), r);
        t = tv_rmod(tv_atan2(_mm256_fmsub_pd(r, xi, _mm256_mul_pd(tv(2.0), eta)), _mm256_fnmadd_pd(r, eta, _mm256_mul_pd(tv(-2.0), xi))));
        v = tv_rmod(_mm256_sub_pd(_mm256_sub_pd(ph, tv(0.5 * M_PI)), t));
        ok = _mm256_and_pd(_mm256_and_pd(tv_ge(rho, tv(2.0)), tv_ge(t, neg_eps)),
                           _mm256_and_pd(_mm256_cmp_pd(u, eps, _CMP_LE_OQ), _mm256_cmp_pd(v, eps, _CMP_LE_OQ)));
        break; }
    case 7: case 9: {                                                       /* 8.10 L+ R-(pi/2) S- R- */
        const __m256d rho = _mm256_sqrt_pd(n2);
        t = tv_atan2(xi, _mm256_sub_pd(zero, eta));
        u = _mm256_sub_pd(tv(2.0), rho);
        v = tv_rmod(_mm256_sub_pd(_mm256_add_pd(t, tv(0.5 * M_PI)), ph));
        ok = _mm256_and_pd(_mm256_and_pd(tv_ge(rho, tv(2.0)), tv_ge(t, neg_eps)),
                           _mm256_and_pd(_mm256_cmp_pd(u, eps, _CMP_LE_OQ), _mm256_cmp_pd(v, eps, _CMP_LE_OQ)));
        break; }
    default: {                                                              /* 8.11 L+ R- S- L- R+ */
        const __m256d rho = _mm256_sqrt_pd(n2);
        u = _mm256_sub_pd(tv(4.0), tv_sqrt0(_mm256_fmsub_pd(rho, rho, tv(4.0))));
        const __m256d four_u = _mm256_sub_pd(tv(4.0), u);
        t = tv_rmod(tv_atan2(_mm256_fmsub_pd(four_u, xi, _mm256_mul_pd(tv(2.0), eta)),
                             _mm256_fnmadd_pd(four_u, eta, _mm256_mul_pd(tv(-2.0), xi))));
        v = tv_rmod(_mm256_sub_pd(t, ph));
        ok = _mm256_and_pd(_mm256_and_pd(tv_ge(rho, tv(2.0)), _mm256_cmp_pd(u, eps, _CMP_LE_OQ)),
                           _mm256_and_pd(tv_ge(t, neg_eps), tv_ge(v, neg_eps)));
        break; }
    }
    _mm256_storeu_pd(t_out, t);
    _mm256_storeu_pd(u_out, u);
    _mm256_storeu_pd(v_out, v);
    return _mm256_movemask_pd(ok);
}

#else  /* no SIMD build: every pair goes to the scalar search */

static void turns_rs_bounds(double x, double y, double phi, double s, double c, double xb, double yb,
                            double lb[11][4]) {
    (void)x; (void)y; (void)phi; (void)s; (void)c; (void)xb; (void)yb; (void)lb;
}

static int turns_rs_family(int f, double x, double y, double phi, double s, double c, double xb, double yb,
                           double t_out[4], double u_out[4], double v_out[4]) {
    (void)f; (void)x; (void)y; (void)phi; (void)s; (void)c; (void)xb; (void)yb; (void)t_out; (void)u_out; (void)v_out;
    return 0;
}

static int turns_dubins_x4(const double* q0, const double* q1, int n, double radius, double* length,
                           int* word, double* seg) {
    (void)q0; (void)q1; (void)radius; (void)length; (void)word; (void)seg;
    return (1 << n) - 1;
}

#endif
#endif
