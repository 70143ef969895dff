/* template_frontend.c -- HAND-WRITTEN SOURCE of the generated front end's <name>.c: edit here, not the output.
 *
 * edge_mesu/frontend/cgen.py copies this file into <name>.c, replacing the prefix emfe_/EMFE_ with the
 * front end's name; every number (channels, window, hop, decimation, tau, clip, sigma floor, formats) is a
 * macro of <name>.h generated from the FrontEndSpec. The arithmetic is edge_mesu/frontend/normalise.py's
 * (its docstring is the specification), each helper names its Python twin. Right shifts of negative
 * numbers go through asr64 (floor), left shifts of signed values through uint64, divisions of signed
 * values through floor_div: nothing relies on implementation-defined behaviour.
 */
#include "emfe.h"

#define EMFE_ASSERT(name, cond) typedef char name[(cond) ? 1 : -1]
EMFE_ASSERT(emfe_frames_check, EMFE_FRAMES * EMFE_DECIMATE == EMFE_WINDOW);
EMFE_ASSERT(emfe_hop_check, EMFE_FRAME_HOP * EMFE_DECIMATE == EMFE_HOP);
EMFE_ASSERT(emfe_tau_check, EMFE_TAU_LOG2 >= 1 && EMFE_TAU_LOG2 <= 24);

/* ---- edge_mesu/fixed/rounding.py ------------------------------------------------------------------------- */
#if (defined(__GNUC__) || defined(__clang__)) && !defined(EMFE_PORTABLE_SHIFTS)
/* GCC and Clang document >> of a negative number as an arithmetic shift (floor); define
 * EMFE_PORTABLE_SHIFTS to use the C99-only version below with these compilers too (same results) */
#define asr64(x, s) ((int64_t)(x) >> (s))
#else
static int64_t asr64(int64_t x, int s) /* floor(x / 2**s), 0 <= s <= 63 (numpy's >>), any C99 compiler */
{
    return x >= 0 ? (x >> s) : ~(~x >> s);
}
#endif

static int64_t shl64(int64_t x, int s) /* x * 2**s, two's complement (numpy's <<) */
{
    return (int64_t)((uint64_t)x << s);
}

static int64_t round_even(int64_t x, int s) /* shift_round_even: x / 2**s to nearest, ties to even; s >= 1 */
{
    return asr64(x + ((((int64_t)1) << (s - 1)) - 1) + (asr64(x, s) & 1), s);
}

static int64_t div_round_even(int64_t x, int64_t d) /* div_round_even: x / d to nearest, ties to even; d > 0 */
{
    int64_t q = x / d, r = x - q * d; /* C truncates: make it floor division (0 <= r < d) */
    if (r < 0) {
        q -= 1;
        r += d;
    }
    return q + ((2 * r > d || (2 * r == d && (q & 1))) ? 1 : 0);
}

#if EMFE_DECIMATE > 1
static int32_t div_round_even32(int32_t x, int32_t d) /* div_round_even for |x| < 2**31 - d, d > 0: 32-bit */
{
    int32_t q = x / d, r = x - q * d;
    if (r < 0) {
        q -= 1;
        r += d;
    }
    return q + ((2 * r > d || (2 * r == d && (q & 1))) ? 1 : 0);
}
#endif

/* ---- edge_mesu/frontend/normalise.py ----------------------------------------------------------------------- */
static uint64_t isqrt_round(uint64_t n) /* isqrt_round: round(sqrt(n)) for n < 2**62 (exact) */
{
    uint64_t r = 0, bit = (uint64_t)1 << 62, m = n;
    while (bit > m) {
        bit >>= 2;
    }
    while (bit != 0) { /* digit-by-digit: r = floor(sqrt(n)) */
        if (m >= r + bit) {
            m -= r + bit;
            r = (r >> 1) + bit;
        } else {
            r >>= 1;
        }
        bit >>= 2;
    }
    return r + (n - r * r > r ? 1u : 0u);
}

static void count(uint32_t *counters, int which, uint32_t n) /* SaturationCounter.add: saturates at 2**32-1 */
{
    counters[which] = counters[which] > UINT32_MAX - n ? UINT32_MAX : counters[which] + n;
}

#if defined(__GNUC__) || defined(__clang__)
#define EMFE_INLINE static inline __attribute__((always_inline))
#else
#define EMFE_INLINE static inline
#endif

EMFE_INLINE void normaliser_update(emfe_state_t *st, const int16_t *x, int s) /* the k >= 1 step, rate 2**-s */
{
    uint32_t c;
    for (c = 0; c < EMFE_CHANNELS; c++) {
        /* |d| < 2**32 (x * 2**16 and the mean both lie in [-2**31, 2**31)), so |d8| <= 2**24: int32 */
        int64_t d = shl64(x[c], EMFE_MEAN_FRAC) - st->mean[c];
        int32_t d8 = (int32_t)round_even(d, EMFE_MEAN_FRAC - EMFE_DEV_FRAC);
        st->mean[c] = (int32_t)(st->mean[c] + round_even(d, s));
        st->var[c] += round_even((int64_t)d8 * d8 - st->var[c], s);
    }
}

static void normaliser_step(emfe_state_t *st, const int16_t *x) /* normaliser_run, one decimated sample */
{
    uint32_t c;
    if (st->k >= (UINT32_C(1) << (EMFE_TAU_LOG2 - 1))) {
        normaliser_update(st, x, EMFE_TAU_LOG2); /* min(tau, bit_length(k)) = tau: a constant shift */
    } else if (st->k == 0) {
        for (c = 0; c < EMFE_CHANNELS; c++) {
            st->mean[c] = (int32_t)shl64(x[c], EMFE_MEAN_FRAC);
            st->var[c] = 0;
        }
    } else {
        uint32_t k = st->k;
        int s = 0;
        for (; k != 0; k >>= 1) { /* bit_length(k) < tau */
            s++;
        }
        normaliser_update(st, x, s);
    }
    if (st->k < (UINT32_C(1) << EMFE_TAU_LOG2)) {
        st->k++;
    }
}

static int32_t clip_count(int64_t z, emfe_state_t *st) /* np.clip(z, -bound, bound), counted as "clip" */
{
    if (z > EMFE_CLIP_BOUND || z < -EMFE_CLIP_BOUND) {
        count(st->counters, EMFE_CNT_CLIP, 1);
        return z > 0 ? EMFE_CLIP_BOUND : -EMFE_CLIP_BOUND;
    }
    return (int32_t)z;
}

static int8_t saturate8(int64_t q, emfe_state_t *st) /* out_fmt.saturate(q, counter, "saturate") */
{
    if (q > 127 || q < -128) {
        count(st->counters, EMFE_CNT_SATURATE, 1);
        return (int8_t)(q > 0 ? 127 : -128);
    }
    return (int8_t)q;
}

static void window_output(emfe_state_t *st, int8_t *out) /* normalise_windows for the window in the ring */
{
    uint32_t c;
    for (c = 0; c < EMFE_CHANNELS; c++) {
        uint64_t sigma = isqrt_round((uint64_t)st->var[c]);
        /* d8 = round_even(x * 2**16 - m, 8) = x * 2**8 + round_even(-m, 8) exactly: x * 2**16 has no bits below
         * 2**8 and is even there, so the rounding (and its tie parity) depends on m alone. |d8| <= 2**24. */
        int32_t m8 = (int32_t)round_even(-(int64_t)st->mean[c], EMFE_MEAN_FRAC - EMFE_DEV_FRAC);
        int32_t inv; /* round(2**34 / sigma8) <= 2**30 since sigma8 >= 16 */
        uint32_t t, f = st->ring_pos;
#if EMFE_FEATURES
        int64_t sum = 0, sum2 = 0;
        int32_t lo = EMFE_CLIP_BOUND, hi = -EMFE_CLIP_BOUND;
#endif
        sigma = sigma > EMFE_MIN_STD_Q ? sigma : EMFE_MIN_STD_Q;
        inv = (int32_t)div_round_even(INT64_C(1) << EMFE_INV_SHIFT, (int64_t)sigma); /* window_sigma, reciprocal */
        for (t = 0; t < EMFE_FRAMES; t++) {
            int32_t d8 = (int32_t)shl64(st->ring[f * EMFE_CHANNELS + c], EMFE_MEAN_FRAC - EMFE_DEV_FRAC) + m8;
            int32_t z = clip_count(round_even((int64_t)d8 * inv, EMFE_Z_SHIFT), st);
#if EMFE_FEATURES
            sum += z;
            sum2 += (int64_t)z * z;
            lo = z < lo ? z : lo;
            hi = z > hi ? z : hi;
#else
            out[t * EMFE_CHANNELS + c] = saturate8(z, st);
#endif
            f = f + 1 == EMFE_FRAMES ? 0 : f + 1;
        }
#if EMFE_FEATURES
        out[4 * c + 0] = saturate8(round_even(div_round_even(sum, EMFE_FRAMES), EMFE_REQ_SHIFT), st);
        out[4 * c + 1] = saturate8(
            round_even((int64_t)isqrt_round((uint64_t)div_round_even(sum2, EMFE_FRAMES)), EMFE_REQ_SHIFT), st);
        out[4 * c + 2] = saturate8(round_even(lo, EMFE_REQ_SHIFT), st);
        out[4 * c + 3] = saturate8(round_even(hi, EMFE_REQ_SHIFT), st);
#endif
    }
}

#if EMFE_MAJORITY
static int32_t majority_label(emfe_state_t *st, int32_t last) /* FrontEnd._window_labels, rule "majority" */
{
    uint32_t j, best_n = 0;
    int32_t best = -1, cls;
    for (j = 0; j < EMFE_N_CLASSES; j++) {
        st->hist[j] = 0;
    }
#if EMFE_LABEL_LEN > 0
    for (j = 0; j < EMFE_LABEL_LEN; j++) {
        int32_t l = st->labels[j];
        if (l >= 0 && l < EMFE_N_CLASSES) {
            st->hist[l]++;
        }
    }
#endif
    if (last >= 0 && last < EMFE_N_CLASSES) {
        st->hist[last]++;
    }
    for (cls = 0; cls < EMFE_N_CLASSES; cls++) { /* argmax, ties to the smallest class */
        if (st->hist[cls] > best_n) {
            best_n = st->hist[cls];
            best = cls;
        }
    }
    return best;
}
#endif

void emfe_reset(emfe_state_t *st)
{
    uint32_t j;
    for (j = 0; j < EMFE_CHANNELS; j++) {
        st->mean[j] = 0;
        st->var[j] = 0;
        st->acc[j] = 0;
    }
    for (j = 0; j < EMFE_FRAMES * EMFE_CHANNELS; j++) {
        st->ring[j] = 0;
    }
    for (j = 0; j < EMFE_LABEL_RING; j++) {
        st->labels[j] = -1;
    }
    st->seen = 0;
    st->k = 0;
    st->acc_n = 0;
    st->countdown = EMFE_FRAMES;
    st->ring_pos = 0;
    st->label_pos = 0;
    st->frozen = 0;
    for (j = 0; j < EMFE_N_COUNTERS; j++) {
        st->counters[j] = 0;
    }
}

void emfe_freeze(emfe_state_t *st, int frozen)
{
    st->frozen = frozen ? 1u : 0u;
}

int emfe_push(emfe_state_t *st, const int16_t *sample, int32_t label, int8_t *out, int32_t *win_label)
{
    int16_t frame[EMFE_CHANNELS];
    int16_t *slot;
    uint32_t c;
    int emitted = 0;
    label = (label >= 0 && label <= 32766) ? label : -1;
    for (c = 0; c < EMFE_CHANNELS; c++) {
        if (sample[c] == INT16_MIN || sample[c] == INT16_MAX) {
            count(st->counters, EMFE_CNT_INPUT_LIMIT, 1);
        }
    }
    st->seen++;
#if EMFE_DECIMATE > 1
    for (c = 0; c < EMFE_CHANNELS; c++) {
        st->acc[c] += sample[c];
    }
    if (++st->acc_n < EMFE_DECIMATE) {
        goto labels;
    }
    for (c = 0; c < EMFE_CHANNELS; c++) {
        frame[c] = (int16_t)div_round_even32(st->acc[c], EMFE_DECIMATE); /* |acc| < DECIMATE * 2**15 */
        st->acc[c] = 0;
    }
    st->acc_n = 0;
#else
    for (c = 0; c < EMFE_CHANNELS; c++) {
        frame[c] = sample[c];
    }
#endif
    slot = st->ring + st->ring_pos * EMFE_CHANNELS; /* the oldest frame makes room for the newest */
    for (c = 0; c < EMFE_CHANNELS; c++) {
        slot[c] = frame[c];
    }
    st->ring_pos = st->ring_pos + 1 == EMFE_FRAMES ? 0 : st->ring_pos + 1;
    if (!st->frozen) {
        normaliser_step(st, frame);
    }
    if (--st->countdown == 0) {
        st->countdown = EMFE_FRAME_HOP;
#if EMFE_HAS_WARMUP
        if (st->seen < EMFE_WARMUP) {
            count(st->counters, EMFE_CNT_WARMUP_WINDOWS, 1);
        } else
#endif
        {
            window_output(st, out);
            if (win_label != NULL) {
#if EMFE_MAJORITY
                *win_label = majority_label(st, label);
#else
                *win_label = label;
#endif
            }
            emitted = 1;
        }
    }
#if EMFE_DECIMATE > 1
labels:
#endif
#if EMFE_LABEL_LEN > 0
    st->labels[st->label_pos] = (int16_t)label;
    st->label_pos = st->label_pos + 1 == EMFE_LABEL_LEN ? 0 : st->label_pos + 1;
#endif
    return emitted;
}

uint32_t emfe_push_block(emfe_state_t *st, const int16_t *x, const int32_t *labels, uint32_t n, int8_t *out,
                         int32_t *win_labels, uint64_t *ends, uint32_t max_windows, uint32_t *consumed)
{
    uint32_t i, w = 0;
    for (i = 0; i < n && w < max_windows; i++) {
        int32_t lab = -1;
        if (emfe_push(st, x + (size_t)i * EMFE_CHANNELS, labels != NULL ? labels[i] : -1,
                      out + (size_t)w * EMFE_N_OUTPUTS, &lab)) {
            if (win_labels != NULL) {
                win_labels[w] = lab;
            }
            if (ends != NULL) {
                ends[w] = st->seen - 1;
            }
            w++;
        }
    }
    if (consumed != NULL) {
        *consumed = i;
    }
    return w;
}

/* ---- state blob: "EMFE" u16 version u16 flags(bit 0 frozen) u32 config_hash u32 k u32 acc_n u32 countdown
 *      u64 seen u32 counters[4] i32 mean[C] i64 var[C] i32 acc[C] i16 history[FRAMES][C] (oldest first)
 *      i16 label_history[LABEL_LEN] (oldest first) u32 crc32 (zlib) of everything before; little-endian */
static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n)
{
    static const uint32_t nib[16] = {0x00000000u, 0x1db71064u, 0x3b6e20c8u, 0x26d930acu, 0x76dc4190u, 0x6b6b51f4u,
                                     0x4db26158u, 0x5005713cu, 0xedb88320u, 0xf00f9344u, 0xd6d6a3e8u, 0xcb61b38cu,
                                     0x9b64c2b0u, 0x86d3d2d4u, 0xa00ae278u, 0xbdbdf21cu};
    crc = ~crc;
    while (n-- > 0) {
        crc ^= *p++;
        crc = (crc >> 4) ^ nib[crc & 15u];
        crc = (crc >> 4) ^ nib[crc & 15u];
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

static int64_t get_signed(const uint8_t *p, int nbytes) /* two's complement without implementation-defined casts */
{
    uint64_t v = get_le(p, nbytes), sign = (uint64_t)1 << (8 * nbytes - 1);
    return v & sign ? -(int64_t)((sign << 1) - v - 1) - 1 : (int64_t)v;
}

size_t emfe_state_save(const emfe_state_t *st, uint8_t *buf, size_t cap)
{
    uint8_t *p = buf;
    uint32_t j, f;
    uint32_t c;
    if (cap < EMFE_STATE_BYTES) {
        return 0;
    }
    *p++ = 'E';
    *p++ = 'M';
    *p++ = 'F';
    *p++ = 'E';
    p = put_le(p, EMFE_BLOB_VERSION, 2);
    p = put_le(p, st->frozen ? 1u : 0u, 2);
    p = put_le(p, EMFE_CONFIG_HASH, 4);
    p = put_le(p, st->k, 4);
    p = put_le(p, st->acc_n, 4);
    p = put_le(p, st->countdown, 4);
    p = put_le(p, st->seen, 8);
    for (j = 0; j < EMFE_N_COUNTERS; j++) {
        p = put_le(p, st->counters[j], 4);
    }
    for (c = 0; c < EMFE_CHANNELS; c++) {
        p = put_le(p, (uint32_t)st->mean[c], 4);
    }
    for (c = 0; c < EMFE_CHANNELS; c++) {
        p = put_le(p, (uint64_t)st->var[c], 8);
    }
    for (c = 0; c < EMFE_CHANNELS; c++) {
        p = put_le(p, (uint32_t)st->acc[c], 4);
    }
    for (j = 0, f = st->ring_pos; j < EMFE_FRAMES; j++, f = f + 1 == EMFE_FRAMES ? 0 : f + 1) {
        for (c = 0; c < EMFE_CHANNELS; c++) {
            p = put_le(p, (uint16_t)st->ring[f * EMFE_CHANNELS + c], 2);
        }
    }
#if EMFE_LABEL_LEN > 0
    for (j = 0, f = st->label_pos; j < EMFE_LABEL_LEN; j++, f = f + 1 == EMFE_LABEL_LEN ? 0 : f + 1) {
        p = put_le(p, (uint16_t)st->labels[f], 2);
    }
#endif
    p = put_le(p, crc32_update(0, buf, (size_t)(p - buf)), 4);
    return (size_t)(p - buf);
}

int emfe_state_load(emfe_state_t *st, const uint8_t *buf, size_t len)
{
    const uint8_t *p = buf + EMFE_BLOB_HEADER_BYTES;
    uint32_t j, k, acc_n, countdown;
    uint32_t c;
    if (len != EMFE_STATE_BYTES) {
        return -1;
    }
    if (buf[0] != 'E' || buf[1] != 'M' || buf[2] != 'F' || buf[3] != 'E' || get_le(buf + 4, 2) != EMFE_BLOB_VERSION) {
        return -2;
    }
    if (get_le(buf + 8, 4) != EMFE_CONFIG_HASH) {
        return -3;
    }
    if (get_le(buf + len - 4, 4) != crc32_update(0, buf, len - 4)) {
        return -4;
    }
    k = (uint32_t)get_le(buf + 12, 4);
    acc_n = (uint32_t)get_le(buf + 16, 4);
    countdown = (uint32_t)get_le(buf + 20, 4);
    if (k > (UINT32_C(1) << EMFE_TAU_LOG2) || acc_n >= EMFE_DECIMATE || countdown < 1
        || countdown > (EMFE_FRAMES > EMFE_FRAME_HOP ? EMFE_FRAMES : EMFE_FRAME_HOP) || get_le(buf + 6, 2) > 1) {
        return -5;
    }
    emfe_reset(st);
    st->frozen = (uint32_t)get_le(buf + 6, 2);
    st->k = k;
    st->acc_n = acc_n;
    st->countdown = countdown;
    st->seen = get_le(buf + 24, 8);
    for (j = 0; j < EMFE_N_COUNTERS; j++) {
        st->counters[j] = (uint32_t)get_le(buf + 32 + 4 * j, 4);
    }
    for (c = 0; c < EMFE_CHANNELS; c++, p += 4) {
        st->mean[c] = (int32_t)get_signed(p, 4);
    }
    for (c = 0; c < EMFE_CHANNELS; c++, p += 8) {
        st->var[c] = get_signed(p, 8);
    }
    for (c = 0; c < EMFE_CHANNELS; c++, p += 4) {
        st->acc[c] = (int32_t)get_signed(p, 4);
    }
    for (j = 0; j < EMFE_FRAMES * EMFE_CHANNELS; j++, p += 2) {
        st->ring[j] = (int16_t)get_signed(p, 2);
    }
#if EMFE_LABEL_LEN > 0
    for (j = 0; j < EMFE_LABEL_LEN; j++, p += 2) {
        st->labels[j] = (int16_t)get_signed(p, 2);
    }
#endif
    return 0;
}
