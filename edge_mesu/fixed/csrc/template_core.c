/* template_core.c -- HAND-WRITTEN SOURCE of the generated library's <name>.c: edit here, not the output.
 *
 * edge_mesu/fixed/cgen.py copies this file into <name>.c, replacing the identifier prefix emsu_/EMSU_ with
 * the network's name; every number of the arithmetic (formats, shifts, the PRNG's constants, tables) comes
 * from the Python plan as a macro of <name>.h or a table of <name>_model.h, never typed here. Integer
 * inference and MESU update of one network, bit for bit the arithmetic of edge_mesu.fixed (step.py, rule.py,
 * kernels.py, prng.py, rounding.py; each helper names its twin). Portable C99: right shifts of negative
 * numbers go through asr64 (floor), left shifts through uint64 (two's complement), so nothing relies on
 * implementation-defined shifts.
 */
#include "emsu.h"

typedef struct {
    uint32_t fan_in, fan_out, w_off, n_params; /* n_params: fan_in*fan_out (+ fan_out biases) */
    int32_t in_frac;    /* fractional bits of the layer input */
    int32_t act_shift;  /* hidden layers: in_frac + F - act_frac (requantisation of the accumulator) */
    int32_t back_shift; /* layers >= 1: F + delta_frac - DH_FRAC (W^T delta to Q.24) */
    int32_t g_to_h;     /* H_FRAC - grad_frac: gradient to the bracket's frac 32 */
    int32_t ge_to_h;    /* H_FRAC - grad_frac - EPS_FRAC: g*eps to frac 32 */
    int32_t mu_shift0;  /* H_FRAC - F + 15 - var_e: mu step shift before var_shift[c] */
    int32_t prior_on, prior_mant, prior_shift, mu_prior_q; /* (mu_prior - mu) * P at frac 32 */
    uint32_t code_off;           /* stored sigma code c is the virtual code c + code_off of the tables */
    const emsu_sig_t *sig;       /* round(sigma(c) * 2**(F + 16)) */
    const int32_t *ratio_bound;  /* max(round(ratio_max * sigma(c) * 2**F), 1), or NULL */
} emsu_layer_t;

#include "emsu_model.h"

/* The per-layer kernels are inlined once per layer with a constant descriptor, so every per-layer shift
 * and multiplier becomes an immediate (a variable 64-bit shift costs ~8 Thumb-2 instructions). */
#if defined(__GNUC__) || defined(__clang__)
#define EMSU_INLINE static inline __attribute__((always_inline))
#else
#define EMSU_INLINE static inline
#endif

#define EMSU_ASSERT_SIZE(name, cond) typedef char name[(cond) ? 1 : -1]
EMSU_ASSERT_SIZE(emsu_arena_size_check, sizeof(emsu_arena_t) == EMSU_ARENA_BYTES);

/* ---- rounding.py ------------------------------------------------------------------------------------ */
static int64_t asr64(int64_t x, int s) /* floor(x / 2**s), 0 <= s <= 63 (numpy's >>) */
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

static void count(uint32_t *counters, int which) /* SaturationCounter.add(name, 1), saturating */
{
    if (counters[which] != UINT32_MAX) {
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
{ /* h = saturate(round_even(relu(z), act_shift)) in the int16 activation format */
    uint32_t j;
    for (j = 0; j < L->fan_out; j++) {
        int64_t v = shift_or_even(z[j] > 0 ? z[j] : 0, L->act_shift);
        h[j] = (int16_t)saturate(v, EMSU_ACT_MIN, EMSU_ACT_MAX, counters, EMSU_CNT_ACT);
    }
}

static void dense_mean(const emsu_layer_t *L, const int16_t *mu, const int16_t *a, int32_t *z,
                       uint32_t *counters)
{ /* z = a @ W + (b << in_frac) with mean weights; one int64 accumulator per output */
    uint32_t i, j;
    const int16_t *b = mu + L->w_off + L->fan_in * L->fan_out;
    for (j = 0; j < L->fan_out; j++) {
        const int16_t *w = mu + L->w_off + j;
        int64_t acc = 0;
        for (i = 0; i < L->fan_in; i++) {
            acc += (int32_t)a[i] * (int32_t)w[i * L->fan_out];
        }
        if (EMSU_BIAS) {
            acc += shl64(b[j], L->in_frac);
        }
        z[j] = finish_acc(acc, counters);
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
{
    uint32_t i;
    for (i = 0; i < EMSU_N_IN; i++) {
        a[i] = x[i];
    }
}

int emsu_predict(const int16_t *mu, emsu_arena_t *ar, const int8_t *x, int32_t *p_q15)
{
    uint32_t scratch[EMSU_N_COUNTERS] = {0}; /* prediction never changes the counters */
    int32_t p[EMSU_N_OUT];
    int l, best;
    widen_input(x, EMSU_BUF(ar, int16_t, ACT));
    for (l = 0; l < EMSU_N_LAYERS; l++) {
        const emsu_layer_t *L = &emsu_layers[l];
        int32_t *z = EMSU_BUF(ar, int32_t, Z) + emsu_z_off[l];
        dense_mean(L, mu, EMSU_BUF(ar, int16_t, ACT) + emsu_act_off[l], z, scratch);
        if (l < EMSU_N_LAYERS - 1) {
            activate(L, z, EMSU_BUF(ar, int16_t, ACT) + emsu_act_off[l + 1], scratch);
        }
    }
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
/* ---- rounding.py (update) ---------------------------------------------------------------------------- */
static int64_t round_half_up(int64_t x, int s) /* shift_round_half_up: (x + 2**(s-1)) >> s, s >= 1 */
{
    return asr64(x + (((int64_t)1) << (s - 1)), s);
}

static int64_t to_frac(int64_t x, int d) /* rule.to_frac: d = to - frm; exact left or half-up right */
{
    return d >= 0 ? shl64(x, d) : round_half_up(x, -d);
}

/* ---- prng.py: SplitMix64 at a counter ----------------------------------------------------------------- */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> EMSU_MIX_S1)) * EMSU_MIX_M1;
    z = (z ^ (z >> EMSU_MIX_S2)) * EMSU_MIX_M2;
    return z ^ (z >> EMSU_MIX_S3);
}

static uint64_t step_key(uint64_t seed, uint64_t step, uint64_t stream)
{
    return mix64(mix64(seed ^ EMSU_SEED_SALT) + step * EMSU_GAMMA + stream);
}

static int32_t gauss_eps(uint64_t draw) /* gaussian_from_bits: the top bits index the signed table */
{
    return emsu_gauss[draw >> EMSU_EPS_SHIFT];
}

/* ---- kernels.sample_weights: w = mu + round_half_up(sig[c] * eps, SAMPLE_SHIFT), saturated to int16 ---- */
EMSU_INLINE int32_t sample_w(int32_t mu, uint32_t c, int32_t eps, const emsu_sig_t *sig, uint32_t *counters)
{
    int64_t noise = round_half_up((int64_t)sig[c] * eps, EMSU_SAMPLE_SHIFT);
    return (int32_t)saturate(mu + noise, EMSU_MU_MIN, EMSU_MU_MAX, counters, EMSU_CNT_W_SAMPLE);
}

EMSU_INLINE void dense_sampled(const emsu_layer_t *L, emsu_state_t *st, uint64_t key, const int16_t *a,
                          int64_t *acc, int32_t *z)
{ /* forward with one weight sample; draw k of the flat vector is mix64(key + (k + 1) * GAMMA) */
    uint32_t i, j;
    uint64_t ctr = key + (uint64_t)L->w_off * EMSU_GAMMA;
    const int16_t *mu = st->mu + L->w_off;
    const uint8_t *code = st->code + L->w_off;
    for (j = 0; j < L->fan_out; j++) {
        acc[j] = 0;
    }
    for (i = 0; i < L->fan_in; i++) {
        int32_t ai = a[i];
        for (j = 0; j < L->fan_out; j++) {
            ctr += EMSU_GAMMA;
            acc[j] += ai * sample_w(mu[j], code[j], gauss_eps(mix64(ctr)), L->sig, st->counters);
        }
        mu += L->fan_out;
        code += L->fan_out;
    }
    for (j = 0; EMSU_BIAS && j < L->fan_out; j++) {
        ctr += EMSU_GAMMA;
        acc[j] += shl64(sample_w(mu[j], code[j], gauss_eps(mix64(ctr)), L->sig, st->counters), L->in_frac);
    }
    for (j = 0; j < L->fan_out; j++) {
        z[j] = finish_acc(acc[j], st->counters);
    }
}

/* ---- rule.py ------------------------------------------------------------------------------------------ */
EMSU_INLINE int64_t round_update(int64_t x, int s, uint32_t rnd) /* rule.round_update */
{
#if EMSU_STOCHASTIC
    /* SR with B = SR_BITS bits: floor((x + (rnd << (s - B))) / 2**s) == floor((floor(x / 2**(s - B)) + rnd) / 2**B)
     * for s >= B (nested floors), which also equals numpy's floor pre-shift when s > 62. */
    if (s >= EMSU_SR_BITS) {
        return asr64(asr64(x, s - EMSU_SR_BITS > 63 ? 63 : s - EMSU_SR_BITS) + (int64_t)rnd, EMSU_SR_BITS);
    }
    return asr64(x + (int64_t)(rnd >> (EMSU_SR_BITS - s)), s);
#else
    (void)rnd;
    if (s > 62) { /* steps below 2**-62 LSB: floored first */
        x = asr64(x, s - 62);
        s = 62;
    }
    return round_even(x, s);
#endif
}

static int64_t clip_sym(int64_t x, int64_t bound, uint32_t *counters, int which)
{
    return saturate(x, -bound, bound, counters, which);
}

EMSU_INLINE int16_t mu_step(const emsu_layer_t *L, int32_t m, uint32_t c, int64_t g, uint32_t rnd, uint32_t *cnt)
{ /* equation (1): bracket at frac 32, times lr_mu sigma^2 = var15[c] 2**(var_e - 15 - var_shift[c]) */
    int64_t b = -to_frac(g, L->g_to_h), d;
    if (L->prior_on) {
        b += round_half_up((int64_t)(L->mu_prior_q - m) * L->prior_mant, L->prior_shift);
    }
    b = clip_sym(b, EMSU_GRAD_CLIP, cnt, EMSU_CNT_GRAD_CLIP);
    d = round_update(b * emsu_var15[c + L->code_off], L->mu_shift0 + emsu_var_shift[c + L->code_off], rnd);
    if (L->ratio_bound != NULL) {
        d = clip_sym(d, L->ratio_bound[c], cnt, EMSU_CNT_MU_STEP_CLIP);
    }
    return (int16_t)saturate(m + d, EMSU_MU_MIN, EMSU_MU_MAX, cnt, EMSU_CNT_MU);
}

EMSU_INLINE uint8_t code_step(const emsu_layer_t *L, uint32_t c, int64_t ge, uint32_t rnd, uint32_t *cnt)
{ /* equation (2) as the relative step r at frac 32; the code moves by -k log2(1 + r), to second order */
    uint32_t v = c + L->code_off;
    int64_t r, q;
    ge = clip_sym(to_frac(ge, L->ge_to_h), EMSU_GRAD_CLIP >> 1, cnt, EMSU_CNT_GRAD_CLIP);
    r = emsu_prior32[v] - asr64(ge * emsu_sigl15[v], EMSU_SIG_SHIFT0 + emsu_octave[v]); /* floor */
    r = clip_sym(r, EMSU_RMAX32, cnt, EMSU_CNT_SIGMA_STEP_CLIP);
    q = asr64(r, EMSU_LOG1P_PRE);
    r -= (q * q) >> EMSU_LOG1P_POST; /* ln(1 + r) = r - r^2/2 at frac 32 */
    q = (int64_t)c + round_update(r * -EMSU_KLOG_Q16, EMSU_CODE_STEP_SHIFT, rnd);
    return (uint8_t)saturate(q, EMSU_CODE_MIN, EMSU_CODE_MAX, cnt, EMSU_CNT_SIGMA_CODE);
}

EMSU_INLINE void update_param(const emsu_layer_t *L, int16_t *mu, uint8_t *code, int64_t g, int32_t eps,
                         uint64_t draw, uint32_t *cnt)
{ /* one draw per parameter (prng.sr_bits): the top bits made eps, the next SR_BITS round mu, the lowest
   * SR_BITS round the sigma code */
    uint32_t c = *code, mask = (UINT32_C(1) << EMSU_SR_BITS) - 1u;
    *mu = mu_step(L, *mu, c, g, (uint32_t)(draw >> EMSU_SR_BITS) & mask, cnt);
    *code = code_step(L, c, g * eps, (uint32_t)draw & mask, cnt);
}

EMSU_INLINE void update_layer(const emsu_layer_t *L, emsu_state_t *st, uint64_t key, const int16_t *a,
                         const int32_t *delta, int64_t *back)
{ /* fused: regenerate eps, back[i] = sum_j w_ij delta_j with the old w (if back), update mu and code */
    uint32_t i, j, scratch[EMSU_N_COUNTERS] = {0}; /* w_sample was counted by the forward pass */
    uint64_t ctr = key + (uint64_t)L->w_off * EMSU_GAMMA;
    int16_t *mu = st->mu + L->w_off;
    uint8_t *code = st->code + L->w_off;
    for (i = 0; i < L->fan_in; i++) {
        int32_t ai = a[i];
        int64_t bk = 0;
        for (j = 0; j < L->fan_out; j++) {
            uint64_t draw;
            int32_t eps;
            ctr += EMSU_GAMMA;
            draw = mix64(ctr);
            eps = gauss_eps(draw);
            if (back != NULL) {
                bk += (int64_t)sample_w(mu[j], code[j], eps, L->sig, scratch) * delta[j];
            }
            update_param(L, mu + j, code + j, (int64_t)ai * delta[j], eps, draw, st->counters);
        }
        if (back != NULL) {
            back[i] = bk;
        }
        mu += L->fan_out;
        code += L->fan_out;
    }
    for (j = 0; EMSU_BIAS && j < L->fan_out; j++) {
        uint64_t draw;
        ctr += EMSU_GAMMA;
        draw = mix64(ctr);
        update_param(L, mu + j, code + j, shl64(delta[j], L->in_frac), gauss_eps(draw), draw, st->counters);
    }
}

static void hidden_delta(const emsu_layer_t *L, const int64_t *back, const int32_t *z_below, int32_t *out,
                         uint32_t *cnt)
{ /* kernels.backward: delta = saturate(round_even(W delta, back_shift)) * [z > 0] */
    uint32_t i;
    for (i = 0; i < L->fan_in; i++) {
        int64_t v = saturate(shift_or_even(back[i], L->back_shift), EMSU_ACC_MIN, EMSU_ACC_MAX, cnt,
                             EMSU_CNT_DELTA);
        out[i] = z_below[i] > 0 ? (int32_t)v : 0;
    }
}

#define EMSU_FORWARD(l)                                                                                      \
    dense_sampled(&emsu_layers[l], st, key, act + emsu_act_off[l], acc, z + emsu_z_off[l]);                   \
    if ((l) < EMSU_N_LAYERS - 1) {                                                                            \
        activate(&emsu_layers[l], z + emsu_z_off[l], act + emsu_act_off[(l) + 1], st->counters);              \
    }
#define EMSU_BACKWARD(l)                                                                                     \
    update_layer(&emsu_layers[l], st, key, act + emsu_act_off[l], delta, (l) > 0 ? back : NULL);             \
    if ((l) > 0) {                                                                                            \
        hidden_delta(&emsu_layers[l], back, z + emsu_z_off[(l) > 0 ? (l) - 1 : 0], below, st->counters);     \
        tmp = delta;                                                                                          \
        delta = below;                                                                                        \
        below = tmp;                                                                                          \
    }

int emsu_learn_one(emsu_state_t *st, emsu_arena_t *ar, const int8_t *x, int32_t y)
{
    uint64_t key;
    int16_t *act = EMSU_BUF(ar, int16_t, ACT);
    int32_t *z = EMSU_BUF(ar, int32_t, Z), *delta = EMSU_BUF(ar, int32_t, DELTA0);
    int32_t *below = EMSU_BUF(ar, int32_t, DELTA1), *tmp;
    int64_t *acc = EMSU_BUF(ar, int64_t, ACC), *back = EMSU_BUF(ar, int64_t, BACK);
    if (y < 0 || y >= EMSU_N_OUT) {
        return -1;
    }
    key = step_key(st->seed, st->step, 0);
    widen_input(x, act);
    EMSU_LAYERS_UP(EMSU_FORWARD) /* forward, layer 0 first, with the constant index l */
    softmax_q15(z + emsu_z_off[EMSU_N_LAYERS - 1], delta);
    delta[y] -= INT32_C(1) << EMSU_P_FRAC; /* output delta = p - onehot (Q15) */
    EMSU_LAYERS_DOWN(EMSU_BACKWARD) /* fused backward + update, last layer first */
    st->step++;
    return 0;
}

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
        if (!EMSU_CODE_IN_RANGE(code[k])) {
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
