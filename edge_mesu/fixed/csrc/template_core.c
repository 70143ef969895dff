/* template_core.c -- HAND-WRITTEN SOURCE of the generated library's <name>.c: edit here, not the output.
 *
 * edge_mesu/fixed/cgen.py copies this file into <name>.c, replacing the identifier prefix emsu_/EMSU_ with
 * the network's name; every number of the arithmetic (formats, shifts, the PRNG's constants, tables) comes
 * from the Python plan as a macro of <name>.h or a table of <name>_model.h, never typed here. Integer
 * inference and MESU update of one network, bit for bit the arithmetic of edge_mesu.fixed (step.py, rule.py,
 * kernels.py, prng.py, rounding.py; each helper names its twin).
 *
 * State format 2, the 32-bit contract: every per-parameter operation is a 32-bit add, shift, compare or
 * 32x32->32 multiply whose range is proven in docs/fixed_point.md (64-bit arithmetic only per row or per
 * layer); saturations are flagged per parameter and counted once per row. C99; the compiler must shift
 * negative int32 arithmetically (checked at compile time; true of gcc, clang, armcc, IAR, MSVC).
 */
#include "emsu.h"

typedef struct {                  /* per stored sigma code c of one layer (rule.CodeTables) */
    int32_t pk;                   /* sigma prior term of the code step, frac U */
    int32_t bound;                /* |delta mu| bound (ratio_max * sigma), or INT32_MAX */
    int16_t sig16;                /* sigma * 2**(F + SS): the sampling multiplier */
    int16_t var14;                /* lr_mu sigma^2 mantissa */
    int16_t sigl13;               /* sigma step mantissa: (k/ln2) lr_sigma c_sigma sigma (sigl13), or its sigma^2
                                   * (sq13) under EMSU_LRT */
    int8_t mu_p;                  /* mu step shift before the row exponent, minus SR_BITS */
    int8_t ssh;                   /* sigma step shift before the row exponent (ssh, or sshq under EMSU_LRT) */
} emsu_code_t;

typedef struct {
    uint32_t fan_in, fan_out, w_off, n_params; /* n_params: fan_in*fan_out (+ fan_out biases) */
    int32_t in_frac;      /* fractional bits of the layer input */
    int32_t act_shift;    /* hidden layers: in_frac + F - act_frac (requantisation of the accumulator) */
    int32_t back_shift;   /* layers >= 1: F + delta_frac - DH_FRAC (W^T delta to Q.24) */
    int32_t sample_shift; /* SS + EPS_FRAC */
    int32_t mu_lim;       /* |mu| <= mu_lim: mu + sigma*eps always fits int16 */
    int32_t prior_mant, prior_shift, mu_prior_q; /* prior pull (mu_prior - mu) * mant / 2**(shift + tau) */
    int32_t tau_min;      /* floor of the row exponent: |pull| <= 2**15, so |pull - g| <= 2**16 is proven */
    int32_t mu_sh_max, ssh_max; /* the largest mu_sh and ssh of tab: shift clamps beyond them fold away */
    const emsu_code_t *tab; /* per stored code */
#if EMSU_LRT /* local reparameterisation's learn path (lrt.py) */
    int32_t var_frac;       /* fractional bits of the variance v at ta = 0: 2 in_frac + 2(F + SS) - 14 */
    int32_t z_frac;         /* in_frac + F: the pre-activation's fractional bits */
    int32_t u_frac;         /* delta_frac + EPS_FRAC + U_SHIFT: u16's fractional bits before - e - sf - eu */
    const uint16_t *sq16;   /* sigma^2 * 2**(2(F + SS) - 14) < 2**16 per stored code (rule.CodeTables.sq16) */
#endif
} emsu_layer_t;

/* Host vector loops. A device core runs one parameter at a time, and the loops below are shaped for it (few live
 * registers, a branch per rare case: branches are cheap on a Cortex-M). The host backend's generated header
 * defines EMSU_HOST_VECTOR; compiled for a core with AVX2 (cbackend's -march=native) the per-parameter loops of
 * dense_sampled and update_row (and of an LRT build's dense_lrt and update_row_lrt: vmac_lrt, vupdate_lrt) then
 * take a branch-free form gcc -O3 vectorises, 8 int32 lanes: the row copied
 * to int32 arrays zero-padded to whole vectors (a uint8 or int16 operand would make gcc take 32 lanes at once),
 * every case of a variable shift computed with its shift clamped into range and selected, table lookups
 * (gathers) from int32 structure-of-arrays copies of the Gaussian and per-code tables, the Weyl counter as
 * base + (j + 1) * GAMMA, flags as an OR reduction. The same integers: the sample, the hash, g16, the prior
 * pull, ge and the code step are the helpers both loops use; only the shift cases and clamps are written twice
 * (branches there, selects here). Without AVX2 the host build runs the device loops (the portable fallback);
 * a device build compiles to the same instructions as before the host loops existed. */
#if defined(EMSU_HOST_VECTOR) && defined(__AVX2__)
#define EMSU_VLOOPS 1
typedef struct { /* emsu_code_t by field, int32, 256 codes (the rows beyond the table are 0) */
    int32_t pk[256], bound[256], sig16[256], var14[256], sigl13[256], mu_p[256], ssh[256];
    int32_t mu_p_min, ssh_min; /* the smallest mu_p and ssh (sshq) of the table: a row whose exponents keep both
                                * shifts >= 0 for every code takes the loops' one-case form (EMSU_VFAST) */
#if EMSU_LRT /* vupdate_lrt's: the layer's sq16, and two fields in one (one gather): high << VPACK_SHIFT | low */
    int32_t sq16[256], mq[256] /* mu_p, var14 */, sq[256] /* ssh (sshq), sigl13 (sq13) */;
#endif
} emsu_vtab_t;
#else
#define EMSU_VLOOPS 0
#endif

#include "emsu_model.h"

/* The per-layer kernels are inlined once per layer with a constant descriptor, so every per-layer shift
 * and multiplier becomes an immediate. */
#if defined(__GNUC__) || defined(__clang__)
#define EMSU_INLINE static inline __attribute__((always_inline))
#else
#define EMSU_INLINE static inline
#endif

#define EMSU_ASSERT_SIZE(name, cond) typedef char name[(cond) ? 1 : -1]
EMSU_ASSERT_SIZE(emsu_arena_size_check, sizeof(emsu_arena_t) == EMSU_ARENA_BYTES);
EMSU_ASSERT_SIZE(emsu_asr_check, (-7 >> 1) == -4); /* arithmetic right shift of negative int (floor) */
EMSU_ASSERT_SIZE(emsu_act_min_check, EMSU_ACT_MIN <= 0); /* activate: relu(z) >= 0 saturates only at ACT_MAX */

/* ---- rounding.py ------------------------------------------------------------------------------------ */
static int64_t asr64(int64_t x, int s) /* floor(x / 2**s), 0 <= s <= 63 (numpy's >>); per row only */
{
    return x >= 0 ? (x >> s) : ~(~x >> s);
}

static int64_t shl64(int64_t x, int s) /* x * 2**s with two's complement wrap (numpy's <<) */
{
    return (int64_t)((uint64_t)x << s);
}

static int64_t round_even(int64_t x, int s) /* shift_round_even: nearest, ties to even */
{
    if (s == 0) {
        return x;
    }
    return asr64(x + ((((int64_t)1) << (s - 1)) - 1) + (asr64(x, s) & 1), s);
}

static int64_t shift_or_even(int64_t x, int s) /* kernels: round_even right shift, or exact left shift */
{
    return s >= 0 ? round_even(x, s) : shl64(x, -s);
}

EMSU_INLINE int32_t shl32(int32_t x, int s) /* x * 2**s, no overflow by the caller's bound */
{
    return (int32_t)((uint32_t)x << s);
}

static void count(uint32_t *counters, int which) /* SaturationCounter.add(name, 1), saturating; NULL: not counted */
{                                                /* (prediction: it never changes the counters) */
    if (counters != NULL && counters[which] != UINT32_MAX) {
        counters[which]++;
    }
}

static int64_t saturate(int64_t x, int64_t lo, int64_t hi, uint32_t *counters, int which)
{ /* one unsigned compare on the common path: x - lo wraps above hi - lo when x < lo */
    if ((uint64_t)x - (uint64_t)lo > (uint64_t)hi - (uint64_t)lo) {
        count(counters, which);
        return x < lo ? lo : hi;
    }
    return x;
}

/* ---- kernels.py ----------------------------------------------------------------------------------------- */
static int32_t finish_acc(int64_t acc, uint32_t *counters) /* ACC_FMT.saturate: int32 */
{
    return (int32_t)saturate(acc, EMSU_ACC_MIN, EMSU_ACC_MAX, counters, EMSU_CNT_ACC);
}

static void activate(const emsu_layer_t *L, const int32_t *z, int16_t *h, uint32_t *counters)
{ /* h = saturate(round_even(relu(z), act_shift)) in the int16 activation format, in 32 bits: relu(z) < 2**31, so
   * the round_even sum stays below 2**31 + 2**30 in a uint32, and only the upper bound ACT_MAX can saturate
   * (ACT_MIN <= 0); a left shift saturates first when it would pass ACT_MAX */
    uint32_t j, v, top;
    int s = L->act_shift, n = s < 0 ? (s < -31 ? 31 : -s) : (s > 31 ? 31 : s);
    uint32_t half = s > 0 ? (UINT32_C(1) << (n - 1)) - 1u : 0u;
    top = s < 0 ? (uint32_t)EMSU_ACT_MAX >> n : (uint32_t)EMSU_ACT_MAX;
    for (j = 0; j < L->fan_out; j++) {
        v = z[j] > 0 ? (uint32_t)z[j] : 0u;
        if (s > 31) {
            v = 0u; /* relu(z) / 2**s < 1/2 */
        } else if (s > 0) {
            v = (v + half + ((v >> n) & 1u)) >> n;
        }
        if (v > top) {
            count(counters, EMSU_CNT_ACT);
            v = (uint32_t)EMSU_ACT_MAX;
        } else if (s < 0) {
            v <<= n;
        }
        h[j] = (int16_t)v;
    }
}

/* Forward accumulation: int32 per parameter (|a w| < 2**30), flushed to int64 per row before the rows' sum of
 * |a| could reach 2**16 (then |acc32| <= 2**16 * 32767 < 2**31); rows with a = 0 add nothing and are skipped. */
#define EMSU_ROW_BEGIN(ai) EMSU_BUDGET((uint32_t)((ai) < 0 ? -(ai) : (ai)))
#define EMSU_BUDGET(mag)                                                                                     \
    {                                                                                                         \
        uint32_t mag_ = (mag);                                                                                \
        if (budget + mag_ > EMSU_ACC_BUDGET) {                                                                \
            for (j = 0; j < L->fan_out; j++) {                                                                \
                acc[j] += acc32[j];                                                                           \
                acc32[j] = 0;                                                                                 \
            }                                                                                                 \
            budget = 0;                                                                                       \
        }                                                                                                     \
        budget += mag_;                                                                                       \
    }

/* Two rows at once: acc += a0 w0 + a1 w1, a dual 16-bit multiply-accumulate. Define EMSU_USE_ACLE on a core
 * with the DSP extension (Cortex-M4/M7/M33) to use the ACLE intrinsic __smlad; the portable expression gives
 * the same int32 (no partial sum can overflow within the accumulation budget). */
#if defined(EMSU_USE_ACLE) && defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>
#define EMSU_PAIR(lo, hi) ((uint32_t)(uint16_t)(lo) | ((uint32_t)(uint16_t)(hi) << 16))
#define EMSU_MAC2(acc, a01, a0, a1, w0, w1) ((acc) = __smlad((a01), EMSU_PAIR(w0, w1), (acc)))
#define EMSU_MAC2_ACC EMSU_MAC2
#else
#define EMSU_PAIR(lo, hi) 0u
#define EMSU_MAC2(acc, a01, a0, a1, w0, w1) ((acc) += (a0) * (w0) + (a1) * (w1))
#if defined(__ARM_ARCH_6M__) /* no multiply-accumulate (Cortex-M0/M0+): the sum of products first allocates better */
#define EMSU_MAC2_ACC EMSU_MAC2
#else /* (acc + a0 w0) + a1 w1: two multiply-accumulates */
#define EMSU_MAC2_ACC(acc, a01, a0, a1, w0, w1) ((acc) = (acc) + (a0) * (w0) + (a1) * (w1))
#endif
#endif

/* Four rows at once (fewer accumulator loads and stores per parameter), except on the cores without a
 * multiply-accumulate (Cortex-M0/M0+: measured slower there, too few registers) */
#if defined(__ARM_ARCH_6M__)
#define EMSU_ROWS4 0
#else
#define EMSU_ROWS4 1
#endif
#if defined(EMSU_USE_ACLE) && defined(__ARM_FEATURE_DSP) /* two dual multiply-accumulates */
#define EMSU_MAC4(acc, a01, a23, a0, a1, a2, a3, w0, w1, w2, w3)                                              \
    ((acc) = __smlad((a23), EMSU_PAIR(w2, w3), __smlad((a01), EMSU_PAIR(w0, w1), (acc))))
#else /* four multiply-accumulates into acc */
#define EMSU_MAC4(acc, a01, a23, a0, a1, a2, a3, w0, w1, w2, w3)                                              \
    ((acc) = (acc) + (a0) * (w0) + (a1) * (w1) + (a2) * (w2) + (a3) * (w3))
#endif

EMSU_INLINE void dense_mean(const emsu_layer_t *L, const int16_t *mu, const int16_t *a, int64_t *acc, int32_t *acc32,
                       int32_t *z, uint32_t *counters)
{ /* z = a @ W + (b << in_frac) with mean weights (a layer of kernels.forward with mu; any grouping of the rows
   * gives the same exact sums): four rows at once while both of their pairs are non-zero and their sum of |a|
   * fits one int32 accumulation, else a pair (skipped when both of its rows are 0), else the last row alone */
    uint32_t i = 0, j, budget = 0, fo = L->fan_out;
    const int16_t *w = mu + L->w_off;
    for (j = 0; j < fo; j++) {
        acc[j] = 0;
        acc32[j] = 0;
    }
    while (i + 1 < L->fan_in) {
        int32_t a0 = a[i], a1 = a[i + 1];
        uint32_t a01 = EMSU_PAIR(a0, a1), m01 = (uint32_t)(a0 < 0 ? -a0 : a0) + (uint32_t)(a1 < 0 ? -a1 : a1);
        (void)a01;
        if (m01 == 0) {
            i += 2;
            w += 2 * fo;
            continue;
        }
        if (EMSU_ROWS4 && i + 3 < L->fan_in) {
            int32_t a2 = a[i + 2], a3 = a[i + 3];
            uint32_t a23 = EMSU_PAIR(a2, a3), m23 = (uint32_t)(a2 < 0 ? -a2 : a2) + (uint32_t)(a3 < 0 ? -a3 : a3);
            (void)a23;
            if (m23 != 0 && m01 + m23 <= EMSU_ACC_BUDGET) {
                EMSU_BUDGET(m01 + m23)
                for (j = 0; j < fo; j++) {
                    EMSU_MAC4(acc32[j], a01, a23, a0, a1, a2, a3, w[j], w[j + fo], w[j + 2 * fo], w[j + 3 * fo]);
                }
                i += 4;
                w += 4 * fo;
                continue;
            }
        }
        EMSU_BUDGET(m01)
        for (j = 0; j < fo; j++) {
            EMSU_MAC2(acc32[j], a01, a0, a1, w[j], w[j + fo]);
        }
        i += 2;
        w += 2 * fo;
    }
    if (i < L->fan_in) { /* odd fan_in: the last row alone */
        int32_t ai = a[i];
        EMSU_ROW_BEGIN(ai)
        for (j = 0; j < fo; j++) {
            acc32[j] += ai * w[j];
        }
        w += fo;
    }
    for (j = 0; j < L->fan_out; j++) {
        int64_t v = acc[j] + acc32[j];
        if (EMSU_BIAS) {
            v += shl64(w[j], L->in_frac);
        }
        z[j] = finish_acc(v, counters);
    }
}

static int32_t div_round_even(uint32_t x, uint32_t d) /* div_round_even for x >= 0, d > 0 */
{
    uint32_t q = x / d, rem = x - q * d;
    return (int32_t)(q + ((rem > d - rem || (rem == d - rem && (q & 1u))) ? 1u : 0u));
}

static int softmax_q15(const int32_t *logits, int32_t *p)
{ /* kernels.softmax_q15: Q.10 logits, 2**(d log2 e) from the Q15 table, p = round_even(e 2**15 / sum) */
    int64_t zmax = 0, e[EMSU_N_OUT];
    uint32_t total = 0, k;
    int best = 0;
    for (k = 0; k < EMSU_N_OUT; k++) {
        int64_t zk = shift_or_even(logits[k], EMSU_LOGIT_FRAC - EMSU_Z_FRAC);
        e[k] = zk;
        if (k == 0 || zk > zmax) {
            zmax = zk;
        }
    }
    for (k = 0; k < EMSU_N_OUT; k++) {
        int64_t d = e[k] - zmax, tq, ip;
        int s;
        d = d < EMSU_SOFTMAX_D_MIN ? EMSU_SOFTMAX_D_MIN : d;
        tq = round_even(d * EMSU_LOG2E_Q15, EMSU_LOG2E_FRAC);
        ip = asr64(tq, EMSU_Z_FRAC);
        s = -ip > 62 ? 62 : (int)-ip;
        e[k] = round_even(emsu_exp2_q15[(tq - shl64(ip, EMSU_Z_FRAC)) >> EMSU_EXP2_SHIFT], s);
        total += (uint32_t)e[k];
    }
    for (k = 0; k < EMSU_N_OUT; k++) {
        p[k] = div_round_even((uint32_t)e[k] << EMSU_P_FRAC, total);
        best = p[k] > p[best] ? (int)k : best;
    }
    return best;
}

static void widen_input(const int8_t *x, int16_t *a)
{ /* four at a time: one loop test per four values (2.5 instructions a value on the M4 instead of 4) */
    uint32_t i, n4 = EMSU_N_IN - EMSU_N_IN % 4u;
    for (i = 0; i < n4; i += 4) {
        a[i] = x[i];
        a[i + 1] = x[i + 1];
        a[i + 2] = x[i + 2];
        a[i + 3] = x[i + 3];
    }
    for (i = n4; i < EMSU_N_IN; i++) {
        a[i] = x[i];
    }
}

#define EMSU_PREDICT_LAYER(l)                                                                                \
    dense_mean(&emsu_layers[l], mu, EMSU_BUF(ar, int16_t, ACT) + emsu_act_off[l], EMSU_BUF(ar, int64_t, ACC),     \
               EMSU_BUF(ar, int32_t, ACC32), EMSU_BUF(ar, int32_t, Z) + emsu_z_off[l], scratch);                  \
    if ((l) < EMSU_N_LAYERS - 1) {                                                                            \
        activate(&emsu_layers[l], EMSU_BUF(ar, int32_t, Z) + emsu_z_off[l],                                   \
                 EMSU_BUF(ar, int16_t, ACT) + emsu_act_off[(l) + 1], scratch);                                \
    }
int emsu_predict(const int16_t *mu, emsu_arena_t *ar, const int8_t *x, int32_t *p_q15)
{
    uint32_t *scratch = NULL; /* prediction never changes the counters (count() skips NULL) */
    int32_t p[EMSU_N_OUT];
    int best;
    widen_input(x, EMSU_BUF(ar, int16_t, ACT));
    EMSU_LAYERS_UP(EMSU_PREDICT_LAYER)
    best = softmax_q15(EMSU_BUF(ar, int32_t, Z) + emsu_z_off[EMSU_N_LAYERS - 1], p);
    if (p_q15 != NULL) {
        uint32_t k;
        for (k = 0; k < EMSU_N_OUT; k++) {
            p_q15[k] = p[k];
        }
    }
    return best;
}

#ifndef EMSU_INFERENCE_ONLY
static int bitlen64(uint64_t v) /* kernels._bitlen: per row only */
{
    int n = 0;
    while (v != 0) {
        n++;
        v >>= 1;
    }
    return n;
}

static int bitlen32(uint32_t v) /* kernels._bitlen of a 32-bit value (one CLZ) */
{
#if defined(__GNUC__) || defined(__clang__)
    return v == 0 ? 0 : 32 - __builtin_clz(v);
#else
    int n = 0;
    while (v != 0) {
        n++;
        v >>= 1;
    }
    return n;
#endif
}

/* ---- prng.py: a 32-bit hash at a Weyl counter ---------------------------------------------------------- */
EMSU_INLINE uint32_t hash32(uint32_t x)
{
    x ^= x >> EMSU_HASH_S1;
    x *= EMSU_HASH_M1;
    x ^= x >> EMSU_HASH_S2;
    x *= EMSU_HASH_M2;
    return x ^ (x >> EMSU_HASH_S3);
}

EMSU_INLINE uint32_t hash32k(uint32_t x, uint32_t m1, uint32_t m2) /* hash32 with its multipliers m1 = HASH_M1, m2 =
                                                                  * HASH_M2 given (in registers) */
{
    x ^= x >> EMSU_HASH_S1;
    x *= m1;
    x ^= x >> EMSU_HASH_S2;
    x *= m2;
    return x ^ (x >> EMSU_HASH_S3);
}

/* p (a pointer or a constant) as a value the compiler cannot see through: a table's address then stays in a register
 * for indexed loads instead of being rebuilt from a constant in every iteration (gcc, clang; no-op elsewhere) */
#if defined(__GNUC__) || defined(__clang__)
#define EMSU_OPAQUE(p) __asm__("" : "+r"(p))
#else
#define EMSU_OPAQUE(p) ((void)0)
#endif

static uint32_t step_key(uint64_t seed, uint64_t step, uint32_t stream)
{
    uint32_t k = EMSU_SEED_SALT;
    k = hash32(k ^ (uint32_t)seed);
    k = hash32(k ^ (uint32_t)(seed >> 32));
    k = hash32(k ^ (uint32_t)step);
    k = hash32(k ^ (uint32_t)(step >> 32));
    return hash32(k ^ stream);
}

/* kernels.sample_weights: w = mu + round_half_up(sig16[c] * eps, sample_shift); |sig16 eps| < 2**29 and
 * |mu| <= mu_lim, so w fits int16 without saturation */
#define EMSU_SAMPLE(L, m, sig, eps) ((m) + (((sig) * (eps) + (1 << ((L)->sample_shift - 1))) >> (L)->sample_shift))
#if EMSU_VLOOPS
#define EMSU_EPS(draw) (emsu_gauss32[(draw) >> EMSU_EPS_SHIFT]) /* the same table, int32 (a vector gather) */
#define EMSU_VTAB(L) (&emsu_vtab[(L) - emsu_layers])           /* the layer's emsu_vtab_t */
#else
#define EMSU_EPS(draw) ((int32_t)emsu_gauss[(draw) >> EMSU_EPS_SHIFT])
#endif

#if EMSU_VLOOPS
#if defined(__AVX512F__) /* lanes of the host vector loops; a row runs on int32 copies padded to whole vectors */
#define EMSU_VL 16u           /* 512-bit vectors (gcc's default there is 256): LRT learn 191 -> 151 us (784-50-10) */
#else
#define EMSU_VL 8u
#endif
#define EMSU_VROW ((EMSU_MAX_WIDTH + EMSU_VL - 1u) & ~(EMSU_VL - 1u))

EMSU_INLINE uint32_t vrow_load(const int16_t *mu, const uint8_t *code, int32_t *vm, int32_t *vc, uint32_t fo)
{ /* a row's fo mu and codes as int32, zero-padded to whole vectors (at most EMSU_VROW); the padded width */
    uint32_t j, nj = (fo + EMSU_VL - 1u) & ~(EMSU_VL - 1u);
    for (j = 0; j < nj; j++) {
        vm[j] = j < fo ? mu[j] : 0;
        vc[j] = j < fo ? code[j] : 0;
    }
    return nj;
}

EMSU_INLINE void vrow_store(int16_t *mu, uint8_t *code, const int32_t *vm, const int32_t *vc, uint32_t fo)
{ /* vrow_load's inverse for the row's fo live values */
    uint32_t j;
    for (j = 0; j < fo; j++) {
        mu[j] = (int16_t)vm[j];
        code[j] = (uint8_t)vc[j];
    }
}

EMSU_INLINE void vsample(const emsu_layer_t *L, const int32_t *restrict mu, const int32_t *restrict code, int32_t ai,
                         uint32_t ctr, int32_t *restrict out, uint32_t nj)
{ /* out = ai * (dense_sampled's weight samples) of one row, j < nj (a multiple of EMSU_VL) */
    const emsu_vtab_t *vt = EMSU_VTAB(L);
    uint32_t j;
    nj &= ~(EMSU_VL - 1u);
    for (j = 0; j < nj; j++) {
        out[j] = ai * EMSU_SAMPLE(L, mu[j], vt->sig16[code[j]], EMSU_EPS(hash32(ctr + (j + 1) * EMSU_GAMMA)));
    }
}
#endif

EMSU_INLINE void dense_sampled(const emsu_layer_t *L, emsu_state_t *st, uint32_t key, const int16_t *a,
                               int64_t *acc, int32_t *acc32, int32_t *z)
{ /* forward with one weight sample; draw k of the flat vector is hash32(key + (k + 1) * GAMMA) */
    uint32_t i, j, budget = 0;
    uint32_t ctr = key + L->w_off * EMSU_GAMMA;
    const int16_t *mu = st->mu + L->w_off;
    const uint8_t *code = st->code + L->w_off;
    for (j = 0; j < L->fan_out; j++) {
        acc[j] = 0;
        acc32[j] = 0;
    }
    for (i = 0; i < L->fan_in; i++, mu += L->fan_out, code += L->fan_out) {
        int32_t ai = a[i];
        if (ai == 0) {
            ctr += L->fan_out * EMSU_GAMMA;
            continue;
        }
        EMSU_ROW_BEGIN(ai)
#if EMSU_VLOOPS
        { /* the row as int32, zero-padded to whole vectors (EMSU_VROW) */
            int32_t vm[EMSU_VROW], vc[EMSU_VROW], va[EMSU_VROW];
            uint32_t fo = L->fan_out, nj = vrow_load(mu, code, vm, vc, fo);
            vsample(L, vm, vc, ai, ctr, va, nj);
            for (j = 0; j < fo; j++) {
                acc32[j] += va[j];
            }
            ctr += fo * EMSU_GAMMA;
        }
#else
        {
            uint32_t m1 = EMSU_HASH_M1, m2 = EMSU_HASH_M2;
            EMSU_OPAQUE(m1); /* the hash's multipliers in registers: not rebuilt per parameter */
            EMSU_OPAQUE(m2);
            for (j = 0; j < L->fan_out; j++) {
                ctr += EMSU_GAMMA;
                acc32[j] += ai * EMSU_SAMPLE(L, mu[j], L->tab[code[j]].sig16, EMSU_EPS(hash32k(ctr, m1, m2)));
            }
        }
#endif
    }
    for (j = 0; j < L->fan_out; j++) {
        int64_t v = acc[j] + acc32[j];
        if (EMSU_BIAS) {
            ctr += EMSU_GAMMA;
            v += shl64(EMSU_SAMPLE(L, mu[j], L->tab[code[j]].sig16, EMSU_EPS(hash32(ctr))), L->in_frac);
        }
        z[j] = finish_acc(v, st->counters);
    }
}

/* ---- rule.py ------------------------------------------------------------------------------------------ */
EMSU_INLINE int32_t shl_sat(int32_t x, int n, int32_t sat) /* rule.shl_sat: x * 2**n saturated at +-sat */
{
    int32_t lim;
    n = n > 31 ? 31 : n;
    lim = sat >> n;
    return x > lim ? sat : x < -lim ? -sat : shl32(x, n);
}

EMSU_INLINE int32_t round_even32(int32_t x, int s) /* shift_round_even, 0 <= s <= 30, |x| <= 2**30 */
{
    if (s == 0) {
        return x;
    }
    return (x + ((1 << (s - 1)) - 1) + ((x >> s) & 1)) >> s;
}

/* x outside [-b, b] (b >= 0), in one unsigned compare: exact for every int32 x and 0 <= b <= INT32_MAX */
#define EMSU_OUTSIDE(x, b) ((uint32_t)(x) + (uint32_t)(b) > 2u * (uint32_t)(b))
#if defined(__GNUC__) || defined(__clang__) /* a rare branch (block order only: the same integers) */
#define EMSU_UNLIKELY(x) __builtin_expect((x) != 0, 0)
#else
#define EMSU_UNLIKELY(x) (x)
#endif
#define EMSU_OUTSIDE_RARE(x, b) EMSU_UNLIKELY(EMSU_OUTSIDE(x, b))
/* EMSU_OUTSIDE(x, b) for b >= f, f a power of two: x within [-f, f] first (immediates the M4 encodes), the
 * exact test only beyond (with x opaque there: else the compiler merges the two tests back into one); one test on
 * ARMv6-M (no such immediates: two cost the M0+ 3 %) */
#if defined(__ARM_ARCH_6M__)
#define EMSU_OUTSIDE_FAST(x, b, f) EMSU_OUTSIDE_RARE(x, b)
#else
#define EMSU_OUTSIDE_FAST(x, b, f) (EMSU_UNLIKELY(EMSU_OUTSIDE(x, f)) && outside_opaque(x, b))
#endif
#define EMSU_OUTSIDE_MU(x, b) EMSU_OUTSIDE_FAST(x, b, EMSU_MU_LIM_FAST) /* b: a layer's mu_lim */
#define EMSU_SR_MASK ((UINT32_C(1) << EMSU_SR_BITS) - 1u) /* the rounding bits of a draw */
#define EMSU_F_STEP 2u
#define EMSU_F_MU 4u
#define EMSU_F_SSTEP 8u
#define EMSU_F_CODE 16u

static void count_flags(uint32_t flags, uint32_t *cnt) /* rule.count_rows: one count per row and kind */
{
    if (flags & EMSU_F_STEP) {
        count(cnt, EMSU_CNT_MU_STEP_CLIP);
    }
    if (flags & EMSU_F_MU) {
        count(cnt, EMSU_CNT_MU);
    }
    if (flags & EMSU_F_SSTEP) {
        count(cnt, EMSU_CNT_SIGMA_STEP_CLIP);
    }
    if (flags & EMSU_F_CODE) {
        count(cnt, EMSU_CNT_SIGMA_CODE);
    }
}

/* The steps both loops of update_row share (rule.mesu_step_int): g16, the prior pull, ge and the code step */
#define EMSU_G(ai, d16, half, t) (((ai) * (d16) + (half)) >> (t))
#define EMSU_PULL(L, m, pmant, ps) ((((L)->mu_prior_q - (m)) * (pmant) + (1 << ((ps) - 1))) >> (ps))
#define EMSU_GE(g, eps) (((g) * (eps) + (1 << (EMSU_GE_SHIFT - 1))) >> EMSU_GE_SHIFT)

EMSU_INLINE int32_t code_step(int32_t u, uint32_t da) /* -(u - u^2 ln2/(2k)) rounded: the code's move */
{
    int32_t tt = (u + (1 << (EMSU_LP_A - 1))) >> EMSU_LP_A;
    u = ((tt * tt * EMSU_LP_Q) >> EMSU_LP_SH) - u;
#if EMSU_STOCHASTIC
    return ((u >> (EMSU_U_FRAC - EMSU_SR_BITS)) + (int32_t)(da & EMSU_SR_MASK)) >> EMSU_SR_BITS;
#else
    (void)da;
    return round_even32(u, EMSU_U_FRAC);
#endif
}

/* rule.mesu_step_int's mu step of one parameter (equation (1)), shared by the device loops of update_row and
 * update_row_lrt as a statement macro (a function instead changes the register allocation of update_row on the
 * M4): m becomes the new mu, given g16 = g with row exponent tau, the row's prior pull (pmant, ps), draw B db (its
 * low SR_BITS round the step) and the code's table row tc; d and s are the caller's int32_t / int scratch;
 * clips set EMSU_F_STEP / EMSU_F_MU in flags. |prior - g| <= 2**16 (tau >= tau_min), times var14 <= 2**14;
 * every shift clamp the layer's tables cannot reach is folded away at compile time (mu_sh_max: the largest
 * table shift, tau >= tau_min). The pull and the product are two statements: one expression costs the M0+
 * 0.4 % (registers). */
#if EMSU_STOCHASTIC /* rule.round_shift32 */
#define EMSU_MU_ROUND(L, d, s, db)                                                                          \
    if (s >= 0) {                                                                                            \
        if ((L)->mu_sh_max - (L)->tau_min - EMSU_SR_BITS > 31 && s > 31) {                                   \
            s = 31;                                                                                          \
        }                                                                                                    \
        d = ((d >> s) + (int32_t)((db) & EMSU_SR_MASK)) >> EMSU_SR_BITS;                                     \
    } else if (s >= -EMSU_SR_BITS) {                                                                         \
        d = (d + (int32_t)(((db) & EMSU_SR_MASK) >> -s)) >> (s + EMSU_SR_BITS);                              \
    } else {                                                                                                 \
        d = shl_sat(d, -(s + EMSU_SR_BITS), EMSU_DMU_SAT);                                                   \
    }
#else
#define EMSU_MU_ROUND(L, d, s, db)                                                                          \
    (void)(db);                                                                                              \
    s += EMSU_SR_BITS;                                                                                       \
    if (s >= 31) {                                                                                           \
        d = 0;                                                                                               \
    } else if (s >= 0) {                                                                                     \
        d = round_even32(d, s);                                                                              \
    } else {                                                                                                 \
        d = shl_sat(d, -s, EMSU_DMU_SAT);                                                                    \
    }
#endif
#define EMSU_MU_STEP(L, tc, m, g, tau, pmant, ps, db, d, s, flags)                                          \
    EMSU_MU_STEP_O(L, tc, m, g, tau, pmant, ps, db, d, s, flags, EMSU_OUTSIDE, EMSU_OUTSIDE)
#define EMSU_MU_STEP_O(L, tc, m, g, tau, pmant, ps, db, d, s, flags, OUTD, OUTM) /* the clips' tests */      \
    d = EMSU_PULL(L, m, pmant, ps);                                                                          \
    d = (d - (g)) * (tc)->var14;                                                                             \
    s = (tc)->mu_p - (tau); /* mu_sh - tau - SR_BITS */                                                      \
    EMSU_MU_ROUND(L, d, s, db)                                                                               \
    if (OUTD(d, (tc)->bound)) {                                                                      \
        d = d > 0 ? (tc)->bound : -(tc)->bound;                                                              \
        flags |= EMSU_F_STEP;                                                                                \
    }                                                                                                        \
    m += d;                                                                                                  \
    if (OUTM(m, (L)->mu_lim)) {                                                                      \
        m = m > 0 ? (L)->mu_lim : -(L)->mu_lim;                                                              \
        flags |= EMSU_F_MU;                                                                                  \
    }

/* rule.mesu_step_int's code step of one parameter in the device loops of update_row and update_row_lrt (a statement
 * macro, as EMSU_MU_STEP): c moves by the rounded code step of u (draw A da), clipped into [CODE_MIN, CODE_MAX]
 * with EMSU_F_CODE set in flags when it leaves it. */
#define EMSU_CODE_STEP(c, u, da, flags)                                                                      \
    c += code_step(u, da);                                                                                   \
    if ((uint32_t)(c - EMSU_CODE_MIN) > (uint32_t)(EMSU_CODE_MAX - EMSU_CODE_MIN)) {                         \
        c = c < EMSU_CODE_MIN ? EMSU_CODE_MIN : EMSU_CODE_MAX;                                               \
        flags |= EMSU_F_CODE;                                                                                \
    }

#if EMSU_VLOOPS
EMSU_INLINE int32_t vsel(int cond, int32_t a, int32_t b) /* cond ? a : b as bit operations: gcc's if-conversion
                                                         * refuses a merge of more than 4 values */
{
    return b ^ ((a ^ b) & -(int32_t)(cond != 0));
}

/* The mu step of the host vector loops (vupdate, vupdate_lrt): EMSU_MU_STEP's integers, branch-free, given the
 * code's var14, mu_p and bound (expressions read once each, in this order). m becomes the new mu; d, s, n, x, b are
 * the caller's int32_t scratch; f (uint32_t) is set to the parameter's flags. fast (a constant of the inlined loop):
 * the row's shift s = mu_p - tau is >= 0 for every code of the table (EMSU_VFAST), so only that case is computed. */
#define EMSU_VPACK_LO ((INT32_C(1) << EMSU_VPACK_SHIFT) - 1) /* the low half of a packed field */
#if EMSU_STOCHASTIC /* the three cases of the device loop, each with its shift clamped into range, selected */
#define EMSU_VMU_ROUND(d, s, n, x, db, fast)                                                                \
    {                                                                                                        \
        int32_t r = (int32_t)((db) & EMSU_SR_MASK), sr = (fast) || s >= 0 ? (s > 31 ? 31 : s) : 0;          \
        int32_t d1 = ((d >> sr) + r) >> EMSU_SR_BITS;                                                        \
        if (fast) {                                                                                          \
            d = d1;                                                                                          \
        } else {                                                                                             \
            n = s >= 0 ? 0 : s < -EMSU_SR_BITS ? EMSU_SR_BITS : -s;                                          \
            r = (d + (r >> n)) >> (EMSU_SR_BITS - n);                                                        \
            n = s < -EMSU_SR_BITS ? -(s + EMSU_SR_BITS) : 0;                                                 \
            d = vsel(s >= 0, d1, s >= -EMSU_SR_BITS ? r : shl_sat(d, n, EMSU_DMU_SAT));                      \
        }                                                                                                    \
    }
#else
#define EMSU_VMU_ROUND(d, s, n, x, db, fast)                                                                \
    (void)(db);                                                                                              \
    s += EMSU_SR_BITS;                                                                                       \
    n = s < 1 ? 1 : s > 30 ? 30 : s;                                                                         \
    x = (d + ((1 << (n - 1)) - 1) + ((d >> n) & 1)) >> n; /* round_even32 for 1 <= s <= 30 */                \
    d = (fast) ? (s >= 31 ? 0 : x)                                                                           \
               : vsel(s > 0, s >= 31 ? 0 : x, s == 0 ? d : shl_sat(d, s < 0 ? -s : 0, EMSU_DMU_SAT));
#endif
#define EMSU_VMU_STEP(L, var14, mu_p, bound, m, g, tau, pmant, ps, db, d, s, n, x, b, f, fast)              \
    d = (EMSU_PULL(L, m, pmant, ps) - (g)) * (var14);                                                        \
    s = (mu_p) - (tau);                                                                                      \
    EMSU_VMU_ROUND(d, s, n, x, db, fast)                                                                     \
    b = (bound);                                                                                             \
    f = EMSU_OUTSIDE(d, b) ? EMSU_F_STEP : 0u;                                                               \
    d = EMSU_OUTSIDE(d, b) ? (d > 0 ? b : -b) : d;                                                           \
    m += d;                                                                                                  \
    f |= EMSU_OUTSIDE(m, (L)->mu_lim) ? EMSU_F_MU : 0u;                                                      \
    m = EMSU_OUTSIDE(m, (L)->mu_lim) ? (m > 0 ? (L)->mu_lim : -(L)->mu_lim) : m;

/* A row's one-case test: with the mu step's exponent tau and the sigma step's taus, every code of the layer's table
 * shifts right in both steps (mu_p - tau >= 0, ssh - taus >= 0), as in > 99 % of the rows of a permuted-MNIST run */
#define EMSU_VFAST_(L, tau, taus) (EMSU_VTAB(L)->mu_p_min >= (tau) && EMSU_VTAB(L)->ssh_min >= (taus))
#if defined(EMSU_VFAST_OFF) /* test builds: every row takes the general loops; or the rows counted by form */
#define EMSU_VFAST(L, tau, taus) 0
#elif defined(EMSU_VFAST_COUNT)
uint32_t emsu_vfast_rows[2]; /* rows of the general, of the one-case loops */
#define EMSU_VFAST(L, tau, taus) (++emsu_vfast_rows[EMSU_VFAST_(L, tau, taus)] && EMSU_VFAST_(L, tau, taus))
#else
#define EMSU_VFAST(L, tau, taus) EMSU_VFAST_(L, tau, taus)
#endif

/* The sigma step's shift of the host vector loops: x / 2**s (s >= 0, clamped at 31) or x * 2**-s saturated;
 * fast: s >= 0 for every code (EMSU_VFAST). */
#define EMSU_VSHIFT(x, s, fast)                                                                              \
    ((fast) ? x >> (s > 31 ? 31 : s) : vsel(s >= 0, x >> (s > 31 ? 31 : s), shl_sat(x, s < 0 ? -s : 0, EMSU_XSAT)))

/* The code step of the host vector loops given the sigma step u: u clipped at +-UMAX, c moved and clamped; f and
 * then flags (only where live: a row's padding lanes raise none) gain the parameter's flags. */
#define EMSU_VCODE_STEP(c, u, da, f, flags, live)                                                           \
    f |= EMSU_OUTSIDE(u, EMSU_UMAX) ? EMSU_F_SSTEP : 0u;                                                     \
    u = EMSU_OUTSIDE(u, EMSU_UMAX) ? (u > 0 ? EMSU_UMAX : -EMSU_UMAX) : u;                                   \
    c += code_step(u, da);                                                                                   \
    f |= (uint32_t)(c - EMSU_CODE_MIN) > (uint32_t)(EMSU_CODE_MAX - EMSU_CODE_MIN) ? EMSU_F_CODE : 0u;       \
    flags |= (live) ? f : 0u; /* padding lanes of a row's tail: no flags */                                  \
    c = c < EMSU_CODE_MIN ? EMSU_CODE_MIN : c > EMSU_CODE_MAX ? EMSU_CODE_MAX : c;

/* update_row's parameters j < nj of one row (nj a multiple of EMSU_VL; the flags of j < live only), branch-free
 * for gcc's vectoriser; *bk += the back sum if back. Returns the row's flags. */
EMSU_INLINE uint32_t vupdate(const emsu_layer_t *L, int32_t *restrict mu, int32_t *restrict code,
                             const int32_t *restrict d16, uint32_t nj,
                             uint32_t live, uint32_t ca, uint32_t cb, int32_t ai, int t, int32_t half, int tau,
                             int32_t pmant, int ps, int back, int fast, int32_t *bk)
{
    const emsu_vtab_t *vt = EMSU_VTAB(L);
    uint32_t j, flags = 0;
    int32_t sum = 0;
    nj &= ~(EMSU_VL - 1u);
    for (j = 0; j < nj; j++) {
        uint32_t da = hash32(ca + (j + 1) * EMSU_GAMMA), db = hash32(cb + (j + 1) * EMSU_GAMMA);
        int32_t eps = EMSU_EPS(da), m = mu[j], c = code[j], g, d, x, u, b, s, n;
        uint32_t f; /* this parameter's flags (one OR reduction over the row) */
        x = vt->sig16[c]; /* not under the if: a load that might trap blocks if-conversion */
        if (back) {
            sum += EMSU_SAMPLE(L, m, x, eps) * d16[j];
        }
        g = EMSU_G(ai, d16[j], half, t);
        EMSU_VMU_STEP(L, vt->var14[c], vt->mu_p[c], vt->bound[c], m, g, tau, pmant, ps, db, d, s, n, x, b, f, fast)
        mu[j] = m;
        x = EMSU_GE(g, eps) * vt->sigl13[c];
        s = vt->ssh[c] - tau;
        u = vt->pk[c] - EMSU_VSHIFT(x, s, fast);
        EMSU_VCODE_STEP(c, u, da, f, flags, j < live)
        code[j] = c;
    }
    *bk += sum;
    return flags;
}
#endif

EMSU_INLINE void update_row(const emsu_layer_t *L, int16_t *mu, uint8_t *code, uint32_t *ctr_a, uint32_t *ctr_b,
                            int32_t ai, const int32_t *d16, int e, uint32_t dmax, int32_t *back, uint32_t *cnt)
{ /* one row: regenerate eps, *back = sum_j w_j d16_j with the old w (if back), then rule.mesu_step_int per
   * parameter: g16 = g with the row exponent tau; draw A gave eps and rounds the code (low SR_BITS), draw B
   * rounds mu; the row's prior pull is ((mu_prior - mu) * pmant + 2**(ps-1)) >> ps (pmant = 0 in a row whose
   * pull rounds to 0). Every shift clamp the layer's tables cannot reach is folded away at compile time
   * (mu_sh_max, ssh_max: the largest table shifts, tau >= tau_min). */
    uint32_t j, flags = 0, ca = *ctr_a, cb = *ctr_b, peak = (uint32_t)(ai < 0 ? -ai : ai) * dmax; /* < 2**31 */
    int t = bitlen32(peak) - 15, tau, ps;
    int32_t half, bk = 0, pmant = L->prior_mant;
    const emsu_code_t *tab = L->tab;
    t = t < 0 ? 0 : t;
    t = t < L->tau_min - e ? L->tau_min - e : t;
    tau = e + t;
    half = (INT32_C(1) << t) >> 1;
    ps = L->prior_shift + tau; /* >= 15 since tau >= tau_min */
    if (ps >= 31) {            /* |pull| < 1/2 unit: it rounds to 0 for every mu */
        pmant = 0;
        ps = 1;
    }
#if EMSU_VLOOPS
    { /* the row as int32, zero-padded to whole vectors (EMSU_VROW); d16 comes padded (update_layer) */
        int32_t vm[EMSU_VROW], vc[EMSU_VROW];
        uint32_t fo = L->fan_out, nj = vrow_load(mu, code, vm, vc, fo);
        (void)tab;
        (void)j; /* the device loop's index */
        if (EMSU_VFAST(L, tau, tau)) { /* the one-case loop (the same integers) */
            flags = vupdate(L, vm, vc, d16, nj, fo, ca, cb, ai, t, half, tau, pmant, ps, back != NULL, 1, &bk);
        } else {
            flags = vupdate(L, vm, vc, d16, nj, fo, ca, cb, ai, t, half, tau, pmant, ps, back != NULL, 0, &bk);
        }
        vrow_store(mu, code, vm, vc, fo);
        ca += fo * EMSU_GAMMA;
        cb += fo * EMSU_GAMMA;
    }
#else
    uint32_t m1 = EMSU_HASH_M1, m2 = EMSU_HASH_M2;
    EMSU_OPAQUE(m1); /* the hash's multipliers in registers: not rebuilt per parameter */
    EMSU_OPAQUE(m2);
    for (j = 0; j < L->fan_out; j++) {
        uint32_t da, db;
        int32_t eps, m = mu[j], c = code[j], g, d, ge, x, u;
        const emsu_code_t *tc = &tab[c];
        int s;
        ca += EMSU_GAMMA;
        cb += EMSU_GAMMA;
        da = hash32k(ca, m1, m2);
        db = hash32k(cb, m1, m2);
        if (back != NULL) {
            bk += EMSU_SAMPLE(L, m, tc->sig16, EMSU_EPS(da)) * d16[j];
        }
        g = EMSU_G(ai, d16[j], half, t);
        EMSU_MU_STEP(L, tc, m, g, tau, pmant, ps, db, d, s, flags)
        mu[j] = (int16_t)m;
        /* sigma code: equation (2), u = (k/ln2) dsigma/sigma at frac U */
        eps = EMSU_EPS(da);
        ge = EMSU_GE(g, eps);
        x = ge * tc->sigl13;
        s = tc->ssh - tau;
        if (s >= 0) {
            u = tc->pk - (x >> (L->ssh_max - L->tau_min > 31 && s > 31 ? 31 : s));
        } else {
            u = tc->pk - shl_sat(x, -s, EMSU_XSAT);
        }
        if (EMSU_OUTSIDE(u, EMSU_UMAX)) {
            u = u > 0 ? EMSU_UMAX : -EMSU_UMAX;
            flags |= EMSU_F_SSTEP;
        }
        EMSU_CODE_STEP(c, u, da, flags)
        code[j] = (uint8_t)c;
    }
#endif
    *ctr_a = ca;
    *ctr_b = cb;
    if (back != NULL) {
        *back = bk;
    }
    if (flags != 0) {
        count_flags(flags, cnt);
    }
}

EMSU_INLINE void update_layer(const emsu_layer_t *L, emsu_state_t *st, uint32_t key_a, uint32_t key_b,
                              const int16_t *a, const int32_t *d16, int e, uint32_t dmax, int32_t *back)
{ /* fused backward + update, rows of fan_out parameters; the biases are the last row, a = 2**in_frac */
    uint32_t i, ctr_a = key_a + L->w_off * EMSU_GAMMA, ctr_b = key_b + L->w_off * EMSU_GAMMA;
    int16_t *mu = st->mu + L->w_off;
    uint8_t *code = st->code + L->w_off;
#if EMSU_VLOOPS
    int32_t vd[EMSU_VROW]; /* d16 zero-padded to whole vectors, once per layer (as update_layer_lrt) */
    for (i = 0; i < EMSU_VROW; i++) {
        vd[i] = i < L->fan_out ? d16[i] : 0;
    }
    d16 = vd;
#endif
    for (i = 0; i < L->fan_in; i++, mu += L->fan_out, code += L->fan_out) {
        update_row(L, mu, code, &ctr_a, &ctr_b, a[i], d16, e, dmax, back != NULL ? back + i : NULL, st->counters);
    }
    if (EMSU_BIAS) {
        update_row(L, mu, code, &ctr_a, &ctr_b, INT32_C(1) << L->in_frac, d16, e, dmax, NULL, st->counters);
    }
}

static int normalize_delta(int32_t *d, uint32_t n, uint32_t *dmax)
{ /* kernels.normalize_delta: d16 = round_half_up(d / 2**e), the smallest e with sum |d16| <= 2**16 - 1 */
    uint64_t tot = 0;
    uint32_t j, mx = 0;
    int e;
    for (j = 0; j < n; j++) {
        tot += (uint64_t)(d[j] < 0 ? -(int64_t)d[j] : d[j]);
    }
    e = bitlen64(tot) - 16;
    e = e < 0 ? 0 : e;
    for (;;) {
        int64_t half = (((int64_t)1) << e) >> 1;
        tot = 0;
        for (j = 0; j < n; j++) {
            int64_t v = asr64((int64_t)d[j] + half, e);
            tot += (uint64_t)(v < 0 ? -v : v);
        }
        if (tot <= EMSU_DELTA_L1_MAX) {
            break;
        }
        e++;
    }
    for (j = 0; j < n; j++) {
        int32_t v = (int32_t)asr64((int64_t)d[j] + ((((int64_t)1) << e) >> 1), e);
        uint32_t mag = (uint32_t)(v < 0 ? -v : v);
        d[j] = v;
        mx = mag > mx ? mag : mx;
    }
    *dmax = mx;
    return e;
}

#if !EMSU_LRT
static void hidden_delta(const emsu_layer_t *L, const int32_t *back, int e, const int32_t *z_below, int32_t *out,
                         uint32_t *cnt)
{ /* kernels.backward: delta = saturate(round_even(W d16, back_shift - e)) * [z > 0] */
    uint32_t i;
    for (i = 0; i < L->fan_in; i++) {
        int64_t v = saturate(shift_or_even(back[i], L->back_shift - e), EMSU_ACC_MIN, EMSU_ACC_MAX, cnt,
                             EMSU_CNT_DELTA);
        out[i] = z_below[i] > 0 ? (int32_t)v : 0;
    }
}
#endif /* !EMSU_LRT */

#define EMSU_FORWARD(l)                                                                                      \
    dense_sampled(&emsu_layers[l], st, key_a, act + emsu_act_off[l], acc, acc32, z + emsu_z_off[l]);          \
    if ((l) < EMSU_N_LAYERS - 1) {                                                                            \
        activate(&emsu_layers[l], z + emsu_z_off[l], act + emsu_act_off[(l) + 1], st->counters);              \
    }
#if !EMSU_LRT /* the weight-sampling learn path */
#define EMSU_BACKWARD(l)                                                                                     \
    update_layer(&emsu_layers[l], st, key_a, key_b, act + emsu_act_off[l], delta, e, dmax,                   \
                 (l) > 0 ? back : NULL);                                                                      \
    if ((l) > 0) {                                                                                            \
        hidden_delta(&emsu_layers[l], back, e, z + emsu_z_off[(l) > 0 ? (l) - 1 : 0], below, st->counters);  \
        e = normalize_delta(below, emsu_layers[l].fan_in, &dmax);                                             \
        tmp = delta;                                                                                          \
        delta = below;                                                                                        \
        below = tmp;                                                                                          \
    }

int emsu_learn_one(emsu_state_t *st, emsu_arena_t *ar, const int8_t *x, int32_t y)
{
    uint32_t key_a, key_b, dmax;
    int e;
    int16_t *act = EMSU_BUF(ar, int16_t, ACT);
    int32_t *z = EMSU_BUF(ar, int32_t, Z), *delta = EMSU_BUF(ar, int32_t, DELTA0);
    int32_t *below = EMSU_BUF(ar, int32_t, DELTA1), *tmp;
    int64_t *acc = EMSU_BUF(ar, int64_t, ACC);
    int32_t *acc32 = EMSU_BUF(ar, int32_t, ACC32), *back = EMSU_BUF(ar, int32_t, BACK);
    if (y < 0 || y >= EMSU_N_OUT) {
        return -1;
    }
    key_a = step_key(st->seed, st->step, 0);
    key_b = step_key(st->seed, st->step, EMSU_SR_STREAM);
    widen_input(x, act);
    EMSU_LAYERS_UP(EMSU_FORWARD) /* forward, layer 0 first, with the constant index l */
    softmax_q15(z + emsu_z_off[EMSU_N_LAYERS - 1], delta);
    delta[y] -= INT32_C(1) << EMSU_P_FRAC; /* output delta = p - onehot (Q15) */
    e = normalize_delta(delta, EMSU_N_OUT, &dmax);
    EMSU_LAYERS_DOWN(EMSU_BACKWARD) /* fused backward + update, last layer first */
    (void)below;
    st->step++;
    return 0;
}

#endif /* !EMSU_LRT */

#if EMSU_LRT
/* ---- lrt.py: local reparameterisation (sampling="lrt"), one pre-activation sample of one input (B = 1) ------
 * The learn step samples each layer's pre-activation instead of its weights. Forward at the means: m_j =
 * sum_i a_i mu_ij (int32 per parameter, flushed to int64 as in dense_sampled) and the variance v_j = sum_i
 * a2_i sq16[c_ij] with a2_i = round_half_up(a_i^2 / 2**ta) <= 2**15 (a2 sq16 < 2**31 per parameter, summed in
 * uint32 while sum a2 <= LRT_VAR_BUDGET, then flushed to uint64: v < 2**47); per output S_j = round(sqrt(v_j
 * 2**p)) by a bitwise integer square root, eps_j from stream LRT_STREAM at index z_off[l] + j and z_j =
 * sat32(m_j + S_j eps_j). Backward: U_j = round_even(d16_j eps_j 2**U_SHIFT / S_j) (one 64-bit division per
 * output), normalised to u16; per row h16 = a2_i u16_j >> t_i gives the sigma step (sq13/sshq in the code
 * table's sigma-step slots), and the delta of the layer below adds a_i T_i, T_i = sum_j u16_j sq16_ij (old
 * codes). The rounding draws are weight sampling's: draw A (stream 0) rounds the code, draw B (SR_STREAM) mu. */
/* lrt.isqrt_round: round(sqrt(v)) for v < 2**SQRT_TOP, digit by digit (one bit of the root per bit pair of v)
 * in 32-bit words: the root r < 2**(SQRT_TOP/2) and the remainder v' - r^2 <= 2r, so 4 rem + 3 < 2**32 */
EMSU_ASSERT_SIZE(emsu_isqrt_check, EMSU_LRT_SQRT_TOP / 2 + 2 <= 32);
EMSU_INLINE void isqrt_pairs(uint32_t w, int n, uint32_t *r, uint32_t *rem) /* the top n bit pairs of w */
{
    uint32_t rr = *r, rm = *rem;
    for (; n > 0; n--, w <<= 2) {
        uint32_t trial = (rr << 2) | 1u; /* (2r + 1)^2 - 4 r^2 */
        rm = (rm << 2) | (w >> 30);
        rr <<= 1;
        if (rm >= trial) {
            rm -= trial;
            rr |= 1u;
        }
    }
    *r = rr;
    *rem = rm;
}

static uint32_t isqrt_round(uint64_t v)
{
    uint32_t hi = (uint32_t)(v >> 32), lo = (uint32_t)v, r = 0, rem = 0;
    if (hi != 0) {
        int n = (bitlen32(hi) + 1) >> 1; /* hi's bit pairs from its top nonzero one */
        isqrt_pairs(hi << (32 - 2 * n), n, &r, &rem);
        isqrt_pairs(lo, 16, &r, &rem);
    } else {
        int n = (bitlen32(lo) + 1) >> 1;
        isqrt_pairs(n > 0 ? lo << (32 - 2 * n) : 0u, n, &r, &rem);
    }
    return r + (rem > r ? 1u : 0u); /* sqrt >= r + 1/2 iff v - r^2 > r */
}

static int64_t lrt_shift(int64_t x, int s) /* lrt._shift: x / 2**s to nearest even (0 from 62 on), or for s < 0
                                            * an exact left shift saturated at +-LRT_SHIFT_SAT */
{
    int64_t lim;
    int n;
    if (s >= 0) {
        return round_even(x, s > 62 ? 62 : s);
    }
    n = -s > EMSU_LRT_SHIFT_SAT_BITS ? EMSU_LRT_SHIFT_SAT_BITS : -s;
    lim = EMSU_LRT_SHIFT_SAT >> n;
    return x > lim ? EMSU_LRT_SHIFT_SAT : x < -lim ? -EMSU_LRT_SHIFT_SAT : shl64(x, n);
}

static int64_t div_round_even64(int64_t x, int64_t d) /* rounding.div_round_even for d > 0 (floor, then fix-up) */
{
    int64_t q = x / d, rem = x % d;
    if (rem < 0) {
        q--;
        rem += d;
    }
    return q + ((2 * rem > d || (2 * rem == d && (q & 1) != 0)) ? 1 : 0);
}

/* Per layer of the forward pass, what the backward pass needs besides S (arena buffer noise): ta and sf. */
typedef struct {
    int ta; /* a2 = round_half_up(a^2 / 2**ta): max a2 <= 2**15 */
    int sf; /* S_j = s_j * 2**sf */
} emsu_lrt_row_t;


/* min(s, 31) of a shift s >= 0: the ACLE's unsigned saturation (__usat(s, 5), one instruction) where
 * EMSU_USE_ACLE and the core has it, else the comparison (the same shift) */
#if defined(EMSU_USE_ACLE) && defined(__ARM_FEATURE_SAT)
#include <arm_acle.h>
#define EMSU_MIN31(s) ((int)__usat((s), 5))
#else
#define EMSU_MIN31(s) ((s) > 31 ? 31 : (s))
#endif

EMSU_INLINE int outside_opaque(int32_t x, int32_t b) /* EMSU_OUTSIDE(x, b), x unknown to the compiler */
{
    EMSU_OPAQUE(x);
    return EMSU_OUTSIDE(x, b);
}

#if defined(__ARM_ARCH_6M__) /* update_row_lrt's table address: kept in a register except on ARMv6-M (measured) */
#define EMSU_KEEP_TABLE(p) ((void)0)
#else
#define EMSU_KEEP_TABLE(p) EMSU_OPAQUE(p)
#endif

/* update_row_lrt's draw A: hashed next to draw B (M4: 4 % fewer instructions) or just before the code step uses
 * it (ARMv6-M: one live value less, 0.7 % fewer; measured); the same bits */
#if defined(__ARM_ARCH_6M__)
#define EMSU_DRAW_A_LATE 1
#else
#define EMSU_DRAW_A_LATE 0
#endif

/* dense_lrt's flush of the variance accumulator before the rows' sum of a2 could pass LRT_VAR_BUDGET (then
 * sum a2 sq16 < 2**16 * 2**16 fits uint32); the flush points change no sum */
#define EMSU_LRT_VBUDGET(a2)                                                                                 \
    if (vbudget + (a2) > EMSU_LRT_VAR_BUDGET) {                                                              \
        for (j = 0; j < fo; j++) {                                                                            \
            var[j] += var32[j];                                                                               \
            var32[j] = 0;                                                                                     \
        }                                                                                                     \
        vbudget = 0;                                                                                          \
    }                                                                                                         \
    vbudget += (a2);

#if EMSU_VLOOPS
EMSU_INLINE void vmac_lrt(int32_t *restrict acc32, uint32_t *restrict var32, const int16_t *restrict mu,
                          const uint8_t *restrict code, const int32_t *restrict sq16, int32_t ai, uint32_t a2,
                          uint32_t n)
{ /* dense_lrt's row: acc32 += ai mu, var32 += a2 sq16[c] (the int32 copy of sq16: a vector gather) */
    uint32_t j;
    for (j = 0; j < n; j++) {
        acc32[j] += ai * mu[j];
    }
    for (j = 0; j < n; j++) {
        var32[j] += a2 * (uint32_t)sq16[code[j]];
    }
}
#endif

EMSU_INLINE void dense_lrt(const emsu_layer_t *L, emsu_state_t *st, uint32_t ctr, const int16_t *a, int64_t *acc,
                           int32_t *acc32, uint64_t *var, uint32_t *var32, int32_t *S, int32_t *z,
                           emsu_lrt_row_t *row)
{ /* lrt._forward and lrt._sample_layer of one layer: z = sat32(m + round(S eps / 2**ns)), S into S[j];
   * ctr: the Weyl counter of eps_0 minus one step (key of LRT_STREAM + z_off[l] * GAMMA) */
    uint32_t i, j, budget = 0, vbudget = 0, fo = L->fan_out;
    uint32_t amax = EMSU_BIAS ? (UINT32_C(1) << L->in_frac) : 0u, a2b;
    const int16_t *mu = st->mu + L->w_off;
    const uint8_t *code = st->code + L->w_off;
    const uint16_t *sq16 = L->sq16;
    uint64_t vmax = 0;
    int ta, p, vf, ns;
    int32_t half;
    for (i = 0; i < L->fan_in; i++) {
        uint32_t m = (uint32_t)(a[i] < 0 ? -a[i] : a[i]);
        amax = m > amax ? m : amax;
    }
    ta = bitlen32(amax * amax) - 15; /* a^2 <= 2**30 */
    ta = ta < 0 ? 0 : ta;
    half = (INT32_C(1) << ta) >> 1;
    for (j = 0; j < fo; j++) {
        acc[j] = 0;
        acc32[j] = 0;
        var[j] = 0;
        var32[j] = 0;
    }
#if EMSU_VLOOPS
    (void)sq16;
    for (i = 0; i < L->fan_in; i++, mu += fo, code += fo) {
        int32_t ai = a[i];
        uint32_t a2;
        if (ai == 0) { /* adds nothing to m or v */
            continue;
        }
        EMSU_ROW_BEGIN(ai)
        a2 = (uint32_t)((ai * ai + half) >> ta);
        EMSU_LRT_VBUDGET(a2)
        vmac_lrt(acc32, var32, mu, code, EMSU_VTAB(L)->sq16, ai, a2, fo);
    }
#else
    for (i = 0; i + 1 < L->fan_in; i += 2, mu += 2 * fo, code += 2 * fo) { /* rows in pairs, as dense_mean's pairs */
        int32_t a0 = a[i], a1 = a[i + 1];
        uint32_t a01 = EMSU_PAIR(a0, a1), a20, a21;
        (void)a01;
        if (a0 == 0 && a1 == 0) {
            continue;
        }
        EMSU_BUDGET((uint32_t)(a0 < 0 ? -a0 : a0) + (uint32_t)(a1 < 0 ? -a1 : a1))
        a20 = (uint32_t)((a0 * a0 + half) >> ta);
        a21 = (uint32_t)((a1 * a1 + half) >> ta);
        EMSU_LRT_VBUDGET(a20 + a21)
        EMSU_OPAQUE(sq16);
        for (j = 0; j < fo; j++) { /* acc + a w first: two multiply-accumulates */
            EMSU_MAC2_ACC(acc32[j], a01, a0, a1, mu[j], mu[j + fo]);
            var32[j] = var32[j] + a20 * sq16[code[j]] + a21 * sq16[code[j + fo]];
        }
    }
    if (i < L->fan_in) { /* odd fan_in: the last row alone */
        int32_t ai = a[i];
        uint32_t a2 = (uint32_t)((ai * ai + half) >> ta);
        EMSU_ROW_BEGIN(ai)
        EMSU_LRT_VBUDGET(a2)
        for (j = 0; j < fo; j++) {
            acc32[j] += ai * mu[j];
            var32[j] += a2 * L->sq16[code[j]];
        }
        mu += fo;
        code += fo;
    }
#endif
    a2b = (uint32_t)(((INT32_C(1) << (2 * L->in_frac)) + half) >> ta); /* the bias input a = 2**in_frac */
    for (j = 0; j < fo; j++) {
        int64_t m = acc[j] + acc32[j];
        uint64_t v = var[j] + var32[j];
        if (EMSU_BIAS) {
            m += shl64(mu[j], L->in_frac);
            v += a2b * L->sq16[code[j]];
        }
        acc[j] = m;
        var[j] = v;
        vmax = v > vmax ? v : vmax;
    }
    vf = L->var_frac - ta; /* v's fractional bits */
    p = EMSU_LRT_SQRT_TOP - bitlen64(vmax);
    p -= (int)((unsigned)(vf + p) & 1u); /* the square root of an even number of fractional bits */
    p = vmax > 0 ? p : 0;
    row->ta = ta;
    row->sf = (vf + p) >> 1;
    ns = row->sf + EMSU_EPS_FRAC - L->z_frac; /* S eps to z's fractional bits */
    for (j = 0; j < fo; j++) {
        int32_t s = (int32_t)isqrt_round(var[j] << p), eps;
        ctr += EMSU_GAMMA;
        eps = EMSU_EPS(hash32(ctr));
        S[j] = s;
        z[j] = finish_acc(acc[j] + lrt_shift((int64_t)s * eps, ns), st->counters);
    }
}

static int normalize_u(const int64_t *U, uint32_t n, int32_t *u16, uint32_t *umax)
{ /* kernels.normalize_delta(U, U_BITS): u16 = round_half_up(U / 2**e), the smallest e with sum |u16| <= 2**U_BITS
   * - 1; |U| < 2**60, and S_j >= S_max / 2**(octaves of the sigma window) keeps sum |U| far below 2**53 */
    uint64_t tot = 0;
    uint32_t j, mx = 0;
    int e;
    for (j = 0; j < n; j++) {
        tot += (uint64_t)(U[j] < 0 ? -U[j] : U[j]);
    }
    e = bitlen64(tot) - EMSU_LRT_U_BITS;
    e = e < 0 ? 0 : e;
    for (;;) {
        int64_t half = (((int64_t)1) << e) >> 1;
        tot = 0;
        for (j = 0; j < n; j++) {
            int64_t v = asr64(U[j] + half, e);
            tot += (uint64_t)(v < 0 ? -v : v);
        }
        if (tot <= EMSU_LRT_U_L1_MAX) {
            break;
        }
        e++;
    }
    for (j = 0; j < n; j++) {
        int32_t v = (int32_t)asr64(U[j] + ((((int64_t)1) << e) >> 1), e);
        uint32_t mag = (uint32_t)(v < 0 ? -v : v);
        u16[j] = v;
        mx = mag > mx ? mag : mx;
    }
    *umax = mx;
    return e;
}

static int lrt_u16(const emsu_layer_t *L, uint32_t ctr, const int32_t *d16, int e, const int32_t *S,
                   const emsu_lrt_row_t *row, int64_t *U, int32_t *u16, uint32_t *umax)
{ /* lrt._u16: U_j = round_even(d16_j eps_j 2**U_SHIFT / S_j) (0 where S_j = 0; |d16 eps| < 2**30), u16 = U
   * block-normalised; returns fu, u = u16 * 2**-fu. eps_j regenerated from the forward pass's counter ctr. */
    uint32_t j;
    int eu;
    for (j = 0; j < L->fan_out; j++) {
        int32_t eps;
        ctr += EMSU_GAMMA;
        eps = EMSU_EPS(hash32(ctr));
        U[j] = S[j] > 0 ? div_round_even64(shl64((int64_t)d16[j] * eps, EMSU_LRT_U_SHIFT), S[j]) : 0;
    }
    eu = normalize_u(U, L->fan_out, u16, umax);
    return L->u_frac - e - row->sf - eu;
}

#if EMSU_VLOOPS
/* update_row_lrt's parameters j < nj of one row (nj a multiple of EMSU_VL; the flags of j < live only), branch-free
 * for gcc's vectoriser as vupdate, in two loops over the row (the mu step, then the sigma and code step: each half
 * the loop-invariant vectors of one loop, which gcc otherwise re-broadcasts in the loop); d16 and u16 are zero
 * beyond live (update_layer_lrt's padded copies), so the padding lanes add nothing to *bk += sum_j mu_j d16_j and
 * *tk += sum_j sq16[c_j] u16_j (old mu and codes, if back). Returns the row's flags. */
EMSU_INLINE uint32_t vupdate_lrt(const emsu_layer_t *L, int32_t *restrict mu, int32_t *restrict code,
                                 const int32_t *restrict d16, const int32_t *restrict u16, uint32_t nj, uint32_t live,
                                 uint32_t ca, uint32_t cb, int32_t ai, int t, int32_t half, int tau, int32_t pmant,
                                 int ps, int32_t a2, int th, int32_t hhalf, int taus, int back, int fast,
                                 int32_t *bk, int32_t *tk)
{
    const emsu_vtab_t *vt = EMSU_VTAB(L);
    uint32_t j, flags = 0;
    int32_t sum = 0, tsum = 0;
    nj &= ~(EMSU_VL - 1u);
    for (j = 0; j < nj; j++) { /* the mu step: draw B */
        uint32_t db = hash32(cb + (j + 1) * EMSU_GAMMA), f;
        int32_t m = mu[j], c = code[j], g, d, x, b, s, n, q;
        (void)x; /* EMSU_VMU_STEP's scratch of rounding to nearest */
        if (back) {
            sum += m * d16[j];
        }
        g = EMSU_G(ai, d16[j], half, t);
        q = vt->mq[c];
        EMSU_VMU_STEP(L, q & EMSU_VPACK_LO, q >> EMSU_VPACK_SHIFT, vt->bound[c], m, g, tau, pmant, ps, db, d, s, n,
                      x, b, f, fast)
        flags |= j < live ? f : 0u; /* padding lanes of a row's tail: no flags */
        mu[j] = m;
    }
    for (j = 0; j < nj; j++) { /* the sigma and code step: draw A */
        uint32_t da = hash32(ca + (j + 1) * EMSU_GAMMA), f = 0;
        int32_t c = code[j], h, x, u, s;
        x = vt->sq16[c]; /* not under the if: a load that might trap blocks if-conversion */
        if (back) {
            tsum += x * u16[j];
        }
        h = (a2 * u16[j] + hhalf) >> th; /* update_row_lrt's sigma step */
        s = vt->sq[c];
        x = h * (s & EMSU_VPACK_LO);
        s = (s >> EMSU_VPACK_SHIFT) - taus;
        u = vt->pk[c] - EMSU_VSHIFT(x, s, fast);
        EMSU_VCODE_STEP(c, u, da, f, flags, j < live)
        code[j] = c;
    }
    *bk += sum;
    *tk += tsum;
    return flags;
}
#endif

EMSU_INLINE void update_row_lrt(const emsu_layer_t *L, int16_t *mu, uint8_t *code, uint32_t *ctr_a,
                                uint32_t *ctr_b, int32_t ai, int32_t a2, const int32_t *d16, int e, uint32_t dmax,
                                const int32_t *u16, uint32_t umax, int pf, int32_t *back, int32_t *tback,
                                uint32_t *cnt)
{ /* one row of rule.mesu_step_int with lrt = (h16, tau_s): g16 and the mu step as update_row; h16 =
   * round_half_up(a2 u16_j / 2**th) with tau_s = th - pf (lrt._sigma_rows); the sigma step u = pk -
   * floor(h16 sq13 / 2**(sshq - tau_s)). With back: *back = sum_j mu_j d16_j and *tback = sum_j sq16[c_j] u16_j
   * with the old mu and codes (|T| <= (2**15 - 1)(2**16 - 1) < 2**31). */
    uint32_t j, flags = 0, ca = *ctr_a, cb = *ctr_b, peak = (uint32_t)(ai < 0 ? -ai : ai) * dmax; /* < 2**31 */
    int t = bitlen32(peak) - 15, tau, ps, th, taus;
    int32_t half, hhalf, bk = 0, tk = 0, pmant = L->prior_mant;
    uint32_t m1 = EMSU_HASH_M1, m2 = EMSU_HASH_M2;
    const emsu_code_t *tab = L->tab;
    t = t < 0 ? 0 : t;
    t = t < L->tau_min - e ? L->tau_min - e : t;
    tau = e + t;
    half = (INT32_C(1) << t) >> 1;
    ps = L->prior_shift + tau; /* >= 15 since tau >= tau_min */
    if (ps >= 31) {            /* |pull| < 1/2 unit: it rounds to 0 for every mu */
        pmant = 0;
        ps = 1;
    }
    th = bitlen32((uint32_t)a2 * umax) - 15; /* a2 u16 <= 2**30 */
    th = th < 0 ? 0 : th;
    hhalf = (INT32_C(1) << th) >> 1;
    taus = th - pf;
#if EMSU_VLOOPS
    { /* the row as int32, zero-padded to whole vectors (EMSU_VROW); d16 and u16 come padded */
        int32_t vm[EMSU_VROW], vc[EMSU_VROW];
        uint32_t fo = L->fan_out, nj = vrow_load(mu, code, vm, vc, fo);
        (void)tab;
        (void)j; /* the device loop's index */
        (void)m1;
        (void)m2;
        if (EMSU_VFAST(L, tau, taus)) { /* the one-case loops (the same integers) */
            flags = vupdate_lrt(L, vm, vc, d16, u16, nj, fo, ca, cb, ai, t, half, tau, pmant, ps, a2, th, hhalf, taus,
                                back != NULL, 1, &bk, &tk);
        } else {
            flags = vupdate_lrt(L, vm, vc, d16, u16, nj, fo, ca, cb, ai, t, half, tau, pmant, ps, a2, th, hhalf, taus,
                                back != NULL, 0, &bk, &tk);
        }
        vrow_store(mu, code, vm, vc, fo);
        ca += fo * EMSU_GAMMA;
        cb += fo * EMSU_GAMMA;
    }
#else
    EMSU_KEEP_TABLE(tab);
    EMSU_OPAQUE(m1); /* the hash's multipliers in registers: not rebuilt per parameter */
    EMSU_OPAQUE(m2);
    for (j = 0; j < L->fan_out; j++) {
        uint32_t da, db;
        int32_t m = mu[j], c = code[j], g, d, h, x, u;
        const emsu_code_t *tc = &tab[c];
        int s;
        ca += EMSU_GAMMA;
        cb += EMSU_GAMMA;
        if (!EMSU_DRAW_A_LATE) {
            da = hash32k(ca, m1, m2);
        }
        db = hash32k(cb, m1, m2);
        if (back != NULL) {
            bk += m * d16[j];
            tk += (int32_t)L->sq16[c] * u16[j];
        }
        g = EMSU_G(ai, d16[j], half, t);
        EMSU_MU_STEP_O(L, tc, m, g, tau, pmant, ps, db, d, s, flags, EMSU_OUTSIDE_RARE, EMSU_OUTSIDE_MU)
        mu[j] = (int16_t)m;
        /* sigma code: equation (2) with sigma dC/dsigma = h16 sigma^2; |h16| <= 2**15, sq13 <= 2**13 */
        u = tc->pk;
        h = (a2 * u16[j] + hhalf) >> th;
        x = h * tc->sigl13;
        s = tc->ssh - taus;
        if (s >= 0) {
            u -= x >> EMSU_MIN31(s);
        } else {
            u -= shl_sat(x, -s, EMSU_XSAT);
        }
        if (EMSU_OUTSIDE_FAST(u, EMSU_UMAX, EMSU_UMAX_FAST)) {
            u = u > 0 ? EMSU_UMAX : -EMSU_UMAX;
            flags |= EMSU_F_SSTEP;
        }
        if (EMSU_DRAW_A_LATE) {
            da = hash32k(ca, m1, m2);
        }
        EMSU_CODE_STEP(c, u, da, flags)
        code[j] = (uint8_t)c;
    }
#endif
    *ctr_a = ca;
    *ctr_b = cb;
    if (back != NULL) {
        *back = bk;
        *tback = tk;
    }
    if (flags != 0) {
        count_flags(flags, cnt);
    }
}

EMSU_INLINE void update_layer_lrt(const emsu_layer_t *L, emsu_state_t *st, uint32_t key_a, uint32_t key_b,
                                  const int16_t *a, const int32_t *d16, int e, uint32_t dmax, const int32_t *u16,
                                  uint32_t umax, const emsu_lrt_row_t *row, int fu, int32_t *back, int32_t *tback)
{ /* fused backward + update of one layer (update_layer with the LRT sigma step); the biases are the last row */
    uint32_t i, ctr_a = key_a + L->w_off * EMSU_GAMMA, ctr_b = key_b + L->w_off * EMSU_GAMMA;
    int16_t *mu = st->mu + L->w_off;
    uint8_t *code = st->code + L->w_off;
    int32_t half = (INT32_C(1) << row->ta) >> 1;
    int pf = 2 * L->in_frac - row->ta + fu; /* a2 u16's fractional bits */
#if EMSU_VLOOPS
    int32_t vd[EMSU_VROW], vu[EMSU_VROW]; /* d16 and u16 zero-padded to whole vectors, once per layer */
    for (i = 0; i < EMSU_VROW; i++) {
        vd[i] = i < L->fan_out ? d16[i] : 0;
        vu[i] = i < L->fan_out ? u16[i] : 0;
    }
    d16 = vd;
    u16 = vu;
#endif
    for (i = 0; i < L->fan_in; i++, mu += L->fan_out, code += L->fan_out) {
        int32_t ai = a[i];
        update_row_lrt(L, mu, code, &ctr_a, &ctr_b, ai, (ai * ai + half) >> row->ta, d16, e, dmax, u16, umax, pf,
                       back != NULL ? back + i : NULL, back != NULL ? tback + i : NULL, st->counters);
    }
    if (EMSU_BIAS) {
        update_row_lrt(L, mu, code, &ctr_a, &ctr_b, INT32_C(1) << L->in_frac,
                       ((INT32_C(1) << (2 * L->in_frac)) + half) >> row->ta, d16, e, dmax, u16, umax, pf, NULL, NULL,
                       st->counters);
    }
}

static void hidden_delta_lrt(const emsu_layer_t *L, const int32_t *back, const int32_t *tback, const int16_t *a,
                             int e, int fu, const int32_t *z_below, int32_t *out, uint32_t *cnt)
{ /* lrt.lrt_pass: delta = sat32(round(sum_j d16 mu -> Q.24) + round(a T -> Q.24)) * [z > 0]; |a T| < 2**46 */
    uint32_t i;
    int s2 = L->var_frac - L->in_frac + fu - EMSU_DH_FRAC; /* a T's fractional bits, minus DH_FRAC */
    for (i = 0; i < L->fan_in; i++) {
        int64_t v = lrt_shift(back[i], L->back_shift - e) + lrt_shift((int64_t)a[i] * tback[i], s2);
        v = saturate(v, EMSU_ACC_MIN, EMSU_ACC_MAX, cnt, EMSU_CNT_DELTA);
        out[i] = z_below[i] > 0 ? (int32_t)v : 0;
    }
}

#define EMSU_LRT_FORWARD(l)                                                                                  \
    dense_lrt(&emsu_layers[l], st, key_e + emsu_z_off[l] * EMSU_GAMMA, act + emsu_act_off[l], acc, acc32, var, \
              var32, noise + emsu_z_off[l], z + emsu_z_off[l], &rows[l]);                                     \
    if ((l) < EMSU_N_LAYERS - 1) {                                                                            \
        activate(&emsu_layers[l], z + emsu_z_off[l], act + emsu_act_off[(l) + 1], st->counters);              \
    }
#define EMSU_LRT_BACKWARD(l)                                                                                 \
    fu = lrt_u16(&emsu_layers[l], key_e + emsu_z_off[l] * EMSU_GAMMA, delta, e, noise + emsu_z_off[l], &rows[l], \
                 unum, u16, &umax);                                                                           \
    update_layer_lrt(&emsu_layers[l], st, key_a, key_b, act + emsu_act_off[l], delta, e, dmax, u16, umax,      \
                     &rows[l], fu, (l) > 0 ? back : NULL, tback);                                             \
    if ((l) > 0) {                                                                                            \
        hidden_delta_lrt(&emsu_layers[l], back, tback, act + emsu_act_off[l], e, fu,                          \
                         z + emsu_z_off[(l) > 0 ? (l) - 1 : 0], below, st->counters);                         \
        e = normalize_delta(below, emsu_layers[l].fan_in, &dmax);                                             \
        tmp = delta;                                                                                          \
        delta = below;                                                                                        \
        below = tmp;                                                                                          \
    }

int emsu_learn_one(emsu_state_t *st, emsu_arena_t *ar, const int8_t *x, int32_t y)
{ /* step._learn_lrt: one pre-activation sample (stream LRT_STREAM + 0), rounding draws A (stream 0) and B */
    uint32_t key_a, key_b, key_e, dmax, umax;
    int e, fu;
    emsu_lrt_row_t rows[EMSU_N_LAYERS];
    int16_t *act = EMSU_BUF(ar, int16_t, ACT);
    int32_t *z = EMSU_BUF(ar, int32_t, Z), *delta = EMSU_BUF(ar, int32_t, DELTA0);
    int32_t *below = EMSU_BUF(ar, int32_t, DELTA1), *tmp;
    int64_t *acc = EMSU_BUF(ar, int64_t, ACC), *unum = EMSU_BUF(ar, int64_t, UNUM);
    int32_t *acc32 = EMSU_BUF(ar, int32_t, ACC32), *back = EMSU_BUF(ar, int32_t, BACK);
    uint64_t *var = EMSU_BUF(ar, uint64_t, VAR);
    uint32_t *var32 = EMSU_BUF(ar, uint32_t, VAR32);
    int32_t *noise = EMSU_BUF(ar, int32_t, NOISE), *u16 = EMSU_BUF(ar, int32_t, U16);
    int32_t *tback = EMSU_BUF(ar, int32_t, TBACK);
    if (y < 0 || y >= EMSU_N_OUT) {
        return -1;
    }
    key_a = step_key(st->seed, st->step, 0);
    key_b = step_key(st->seed, st->step, EMSU_SR_STREAM);
    key_e = step_key(st->seed, st->step, EMSU_LRT_STREAM);
    widen_input(x, act);
    EMSU_LAYERS_UP(EMSU_LRT_FORWARD) /* forward at the means, layer 0 first */
    softmax_q15(z + emsu_z_off[EMSU_N_LAYERS - 1], delta);
    delta[y] -= INT32_C(1) << EMSU_P_FRAC; /* output delta = p - onehot (Q15) */
    e = normalize_delta(delta, EMSU_N_OUT, &dmax);
    EMSU_LAYERS_DOWN(EMSU_LRT_BACKWARD) /* fused backward + update, last layer first */
    (void)below;
    st->step++;
    return 0;
}
#endif /* EMSU_LRT */

int emsu_learn_many(emsu_state_t *st, emsu_arena_t *ar, const int8_t *x, const int32_t *y, uint32_t n)
{
    uint32_t k;
    for (k = 0; k < n; k++) {
        if (y[k] < 0 || y[k] >= EMSU_N_OUT) {
            return -1;
        }
    }
    for (k = 0; k < n; k++) {
        (void)emsu_learn_one(st, ar, x + (size_t)k * EMSU_N_IN, y[k]);
    }
    return 0;
}

void emsu_state_init(emsu_state_t *st)
{
    int k;
    st->mu = emsu_mu;
    st->code = emsu_code;
    st->seed = EMSU_SEED;
    st->step = EMSU_STEP;
    for (k = 0; k < EMSU_N_COUNTERS; k++) {
        st->counters[k] = emsu_counters0[k];
    }
}

/* ---- state blob: "EMSC" u16 version u16 n_layers u32 config_hash u32 n_params u64 seed u64 step
 *      u32 counters[N_COUNTERS] i16 mu[P] u8 code[P] u32 crc32 (zlib) of everything before; little-endian */
static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n)
{
    int k;
    crc = ~crc;
    while (n-- > 0) {
        crc ^= *p++;
        for (k = 0; k < 8; k++) {
            crc = (crc >> 1) ^ (UINT32_C(0xEDB88320) & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}

static uint8_t *put_le(uint8_t *p, uint64_t v, int nbytes)
{
    int k;
    for (k = 0; k < nbytes; k++) {
        *p++ = (uint8_t)(v >> (8 * k));
    }
    return p;
}

static uint64_t get_le(const uint8_t *p, int nbytes)
{
    uint64_t v = 0;
    int k;
    for (k = 0; k < nbytes; k++) {
        v |= (uint64_t)p[k] << (8 * k);
    }
    return v;
}

static uint8_t *put_header(uint8_t *p, const emsu_state_t *st)
{
    int k;
    *p++ = 'E'; *p++ = 'M'; *p++ = 'S'; *p++ = 'C';
    p = put_le(p, EMSU_BLOB_VERSION, 2);
    p = put_le(p, EMSU_N_LAYERS, 2);
    p = put_le(p, EMSU_CONFIG_HASH, 4);
    p = put_le(p, EMSU_N_PARAMS, 4);
    p = put_le(p, st->seed, 8);
    p = put_le(p, st->step, 8);
    for (k = 0; k < EMSU_N_COUNTERS; k++) {
        p = put_le(p, st->counters[k], 4);
    }
    return p;
}

size_t emsu_state_save(const emsu_state_t *st, uint8_t *buf, size_t cap)
{
    uint8_t *p = buf;
    uint32_t k;
    if (cap < EMSU_STATE_BYTES) {
        return 0;
    }
    p = put_header(p, st);
    for (k = 0; k < EMSU_N_PARAMS; k++) {
        p = put_le(p, (uint16_t)st->mu[k], 2);
    }
    for (k = 0; k < EMSU_N_PARAMS; k++) {
        *p++ = st->code[k];
    }
    p = put_le(p, crc32_update(0, buf, (size_t)(p - buf)), 4);
    return (size_t)(p - buf);
}

int emsu_state_load(emsu_state_t *st, const uint8_t *buf, size_t len)
{
    const uint8_t *mu = buf + EMSU_BLOB_HEADER_BYTES, *code = mu + 2 * (size_t)EMSU_N_PARAMS;
    uint32_t k;
    if (len != EMSU_STATE_BYTES) {
        return -1;
    }
    if (buf[0] != 'E' || buf[1] != 'M' || buf[2] != 'S' || buf[3] != 'C' || get_le(buf + 4, 2) != EMSU_BLOB_VERSION) {
        return -2;
    }
    if (get_le(buf + 6, 2) != EMSU_N_LAYERS || get_le(buf + 8, 4) != EMSU_CONFIG_HASH
        || get_le(buf + 12, 4) != EMSU_N_PARAMS) {
        return -3;
    }
    if (get_le(buf + len - 4, 4) != crc32_update(0, buf, len - 4)) {
        return -4;
    }
    for (k = 0; k < EMSU_N_PARAMS; k++) {
        int32_t v = (int32_t)get_le(mu + 2 * (size_t)k, 2);
        v = v >= 32768 ? v - 65536 : v;
        if (!EMSU_CODE_IN_RANGE(code[k]) || v > EMSU_MU_LIM_OF(k) || v < -EMSU_MU_LIM_OF(k)) {
            return -5;
        }
    }
    st->seed = get_le(buf + 16, 8);
    st->step = get_le(buf + 24, 8);
    for (k = 0; k < EMSU_N_COUNTERS; k++) {
        st->counters[k] = (uint32_t)get_le(buf + 32 + 4 * k, 4);
    }
    for (k = 0; k < EMSU_N_PARAMS; k++) {
        int32_t v = (int32_t)get_le(mu + 2 * (size_t)k, 2);
        st->mu[k] = (int16_t)(v >= 32768 ? v - 65536 : v);
        st->code[k] = code[k];
    }
    return 0;
}
#endif /* EMSU_INFERENCE_ONLY */
