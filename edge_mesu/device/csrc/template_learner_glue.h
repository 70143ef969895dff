/* @LIB@_learner.h -- THE ONE FILE OF THE LIBRARY THAT NAMES THE LEARNER'S GENERATED C API (@NET@.h, from
 * edge_mesu.fixed.cgen.generate_c). The runtime (@LIB@.c) and the examples reach the learner only through
 * the macros and inline wrappers below: when the learner's C changes, adapt this file and nothing else.
 * Template: edge_mesu/device/csrc/template_learner_glue.h (edge_mesu/device/package.py fills in the names).
 */
#ifndef @LIBU@_LEARNER_H
#define @LIBU@_LEARNER_H

#include "@NET@.h"

#define @LIBU@_LEARNER_N_IN @NETU@_N_IN                 /* int8 inputs per sample */
#define @LIBU@_LEARNER_N_OUT @NETU@_N_OUT               /* classes */
#define @LIBU@_LEARNER_INPUT_FRAC @NETU@_INPUT_FRAC     /* fractional bits of the int8 input */
#define @LIBU@_LEARNER_STATE_BYTES @NETU@_STATE_BYTES   /* bytes of a saved learner state */
#define @LIBU@_LEARNER_CONFIG_HASH @NETU@_CONFIG_HASH   /* identifies the network's configuration */
#define @LIBU@_LEARNER_MAX_SAMPLES @NETU@_MAX_UNCERTAINTY_SAMPLES /* most weight samples of an uncertainty */
#define @LIBU@_LEARNER_ENTROPY_FRAC @NETU@_ENTROPY_FRAC /* fractional bits of the mutual information */

typedef @NET@_state_t @LIB@_learner_state_t; /* the learning state (points at the library's weight arrays) */
typedef @NET@_arena_t @LIB@_learner_arena_t; /* scratch RAM of one predict / learn call */

/* The factory state: the weights the library was generated with. */
static inline void @LIB@_learner_init(@LIB@_learner_state_t *st)
{
    @NET@_state_init(st);
}

/* The most probable class of x under the mean network; p_q15 (N_OUT values, may be NULL) gets the Q15
 * probabilities. */
static inline int @LIB@_learner_predict(const @LIB@_learner_state_t *st, @LIB@_learner_arena_t *ar,
                                         const int8_t *x, int32_t *p_q15)
{
    return @NET@_predict(st->mu, ar, x, p_q15);
}

/* The mutual information (Q16 bits) of x over k weight samples (2 <= k <= MAX_SAMPLES) into *mi_q16; the
 * state is not changed. Returns 0, or a negative code (nothing written) for k out of range. */
static inline int @LIB@_learner_uncertainty(const @LIB@_learner_state_t *st, @LIB@_learner_arena_t *ar,
                                             const int8_t *x, uint32_t k, int32_t *mi_q16)
{
    @NET@_uncertainty_t u;
    if (@NET@_uncertainty(st, ar, x, k, NULL, &u) < 0) {
        return -1;
    }
    *mi_q16 = u.mi_q16;
    return 0;
}

/* One learning step on (x, y); 0, or a negative code (nothing changed) for a label out of range. */
static inline int @LIB@_learner_learn(@LIB@_learner_state_t *st, @LIB@_learner_arena_t *ar, const int8_t *x,
                                       int32_t y)
{
    return @NET@_learn_one(st, ar, x, y);
}

/* Serialise the state into buf (@LIBU@_LEARNER_STATE_BYTES bytes); the bytes written, 0 if cap is short. */
static inline size_t @LIB@_learner_save(const @LIB@_learner_state_t *st, uint8_t *buf, size_t cap)
{
    return @NET@_state_save(st, buf, cap);
}

/* Restore a saved state; 0, or a negative code with the state untouched. */
static inline int @LIB@_learner_load(@LIB@_learner_state_t *st, const uint8_t *buf, size_t len)
{
    return @NET@_state_load(st, buf, len);
}

#endif /* @LIBU@_LEARNER_H */
