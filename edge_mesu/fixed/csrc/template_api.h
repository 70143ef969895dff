/* template_api.h -- HAND-WRITTEN SOURCE of the generated library's <name>.h (cgen.py fills the configuration
 * block and renames the emsu_/EMSU_ prefix). Public API of a generated fixed-point MESU network.
 *
 * The integer arithmetic is the one of edge_mesu.fixed (docs/fixed_point.md, state format 2), bit for bit:
 * the same 32-bit counter-based generator, the same int32 per-parameter update and roundings (stochastic
 * rounding with 20 random bits), the same saturations, counted per row in emsu_state_t.counters. Define
 * EMSU_USE_ACLE on a DSP core to run the dual multiply-accumulates through ACLE's __smlad (same integers).
 * No dynamic allocation, no floating point, no libc beyond <stdint.h>/<stddef.h> (<arm_acle.h> with
 * EMSU_USE_ACLE). The caller owns the state and one emsu_arena_t (EMSU_ARENA_BYTES of scratch RAM).
 *
 * Define EMSU_INFERENCE_ONLY when compiling emsu.c for a predict-only build: the state arrays become const
 * (flash) and the learning code, the σ code array and the tables of the update are left out.
 */
#ifndef EMSU_H
#define EMSU_H

#include <stddef.h>
#include <stdint.h>

/*@CONFIG@*/

#ifdef EMSU_INFERENCE_ONLY
#define EMSU_STATE_CONST const
#else
#define EMSU_STATE_CONST
#endif

/* Scratch RAM of one predict or learn_one call: EMSU_ARENA_BYTES, 8-byte aligned. Its buffers sit at the
 * offsets EMSU_OFF_* planned from their lifetimes (edge_mesu/fixed/buffers.py; firmware_sim budgets the same
 * plan): act int16[ACT_LEN] (every layer's input), z int32[Z_LEN] (pre-activations), acc int64[MAX_WIDTH] and
 * acc32 int32[MAX_WIDTH] (forward accumulators), back int32[MAX_WIDTH] (W^T delta16; shares bytes with acc32),
 * delta0/delta1 int32[MAX_WIDTH] (delta ping-pong). Each byte is only ever accessed through one element type. */
typedef struct {
    uint64_t words[EMSU_ARENA_BYTES / 8];
} emsu_arena_t;
#define EMSU_BUF(ar, type, NAME) ((type *)(void *)((uint8_t *)(ar)->words + EMSU_OFF_##NAME))

/* The learning state: mutable mu (int16) and sigma code (uint8) arrays, the generator's seed and step,
 * and saturation counters (they saturate at 2**32-1, never wrap). */
typedef struct {
    int16_t *mu;
    uint8_t *code;
    uint64_t seed;
    uint64_t step;
    uint32_t counters[EMSU_N_COUNTERS];
} emsu_state_t;

/* The exported state (flat vector: w0, b0, w1, b1, ...; w_l row-major (fan_in, fan_out)). */
extern EMSU_STATE_CONST int16_t emsu_mu[EMSU_N_PARAMS];
#ifndef EMSU_INFERENCE_ONLY
extern uint8_t emsu_code[EMSU_N_PARAMS];
#endif

/* Class probabilities (Q15) of the mean network (mu) for an int8 input in EMSU_INPUT_FRAC format.
 * Returns the most probable class (the first one on ties). p_q15 may be NULL. */
int emsu_predict(const int16_t *mu, emsu_arena_t *arena, const int8_t *x, int32_t *p_q15);

#ifndef EMSU_INFERENCE_ONLY
/* Point st at the exported arrays (emsu_mu, emsu_code) with the exported seed, step and zero counters. */
void emsu_state_init(emsu_state_t *st);

/* One MESU update on (x, y): one weight sample, integer forward/backward, the integer update of every
 * mu and sigma code. Returns 0, or -1 (state untouched) when y is not in [0, EMSU_N_OUT). */
int emsu_learn_one(emsu_state_t *st, emsu_arena_t *arena, const int8_t *x, int32_t y);

/* learn_one on n samples (rows of x, EMSU_N_IN each). Returns 0, or -1 before any update on a bad label. */
int emsu_learn_many(emsu_state_t *st, emsu_arena_t *arena, const int8_t *x, const int32_t *y, uint32_t n);

/* Uncertainty of k weight samples (2 <= k <= EMSU_MAX_UNCERTAINTY_SAMPLES), in Q16 bits (EMSU_ENTROPY_FRAC):
 * predictive = H(mean), aleatoric = mean_s H(p_s), mi = max(0, predictive - aleatoric) (0 when the samples
 * agree exactly), computed as edge_mesu/fixed/entropy.py does, bit for bit. */
typedef struct {
    int32_t predictive_q16;
    int32_t aleatoric_q16;
    int32_t mi_q16;
} emsu_uncertainty_t;

/* k weight samples of st (streams EMSU_PREDICT_STREAM + s of (seed, step); the state, counters included, is
 * not changed): the mean Q15 probabilities into p_mean_q15 (EMSU_N_OUT values, may be NULL) and the
 * uncertainty into *out (may be NULL). Returns the most probable class of the mean (the first on ties), or
 * -1 (nothing written) when k is out of range. Costs k sampled forward passes; no buffer beyond the arena. */
int emsu_uncertainty(const emsu_state_t *st, emsu_arena_t *arena, const int8_t *x, uint32_t k, int32_t *p_mean_q15,
                     emsu_uncertainty_t *out);

/* Serialise the state to EMSU_STATE_BYTES bytes (little-endian, CRC32; layout above emsu_state_save in
 * emsu.c and in edge_mesu.fixed.cblob). Returns the bytes written, or 0 if cap is too small. */
size_t emsu_state_save(const emsu_state_t *st, uint8_t *buf, size_t cap);

/* Read a blob written by emsu_state_save (or by Python's edge_mesu.fixed.cblob.state_blob) into st's
 * arrays. Returns 0, or a negative code (nothing changed): -1 size, -2 magic/version, -3 other network
 * (configuration hash), -4 CRC mismatch, -5 a sigma code out of range. */
int emsu_state_load(emsu_state_t *st, const uint8_t *buf, size_t len);
#endif

#endif /* EMSU_H */
