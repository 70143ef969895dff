/* template_host.c -- HAND-WRITTEN SOURCE of the host backend's glue (edge_mesu/fixed/cbackend.py): compiled
 * into the host library only, never into a device library (a device's input comes from the integer front end).
 *
 * Float rows to the int8 input format, bit for bit QFormat.quantize (qformat.py): x * 2**EMSU_INPUT_FRAC
 * rounded to nearest with ties to even (rint in the default rounding mode, as numpy's rint) and saturated to
 * int8, the saturated values counted. The callers check that every x is finite first (_validation.check_X),
 * so the learner's state never sees a NaN. With it, a predict or a learn of float input is one C call. */
#include <math.h>

#include "emsu.h"

uint32_t emsu_quantize(const double *x, uint32_t n, int8_t *q)
{ /* returns how many values saturated */
    uint32_t i, sat = 0;
    for (i = 0; i < n; i++) {
        double v = rint(ldexp(x[i], EMSU_INPUT_FRAC)); /* exact scaling by a power of two */
        if (v < -128.0) {
            q[i] = -128;
            sat++;
        } else if (v > 127.0) {
            q[i] = 127;
            sat++;
        } else {
            q[i] = (int8_t)v;
        }
    }
    return sat;
}

int emsu_predict_float(const int16_t *mu, emsu_arena_t *ar, const double *x, int8_t *xq, int32_t *p_q15)
{ /* emsu_predict of one float row (quantised into xq, EMSU_N_IN bytes) */
    (void)emsu_quantize(x, EMSU_N_IN, xq);
    return emsu_predict(mu, ar, xq, p_q15);
}

void emsu_predict_rows(const int16_t *mu, emsu_arena_t *ar, const int8_t *xq, uint32_t n, int32_t *p_q15)
{ /* emsu_predict of n int8 rows: the Q15 probabilities, EMSU_N_OUT per row */
    uint32_t k;
    for (k = 0; k < n; k++) {
        (void)emsu_predict(mu, ar, xq + (size_t)k * EMSU_N_IN, p_q15 + (size_t)k * EMSU_N_OUT);
    }
}

#ifndef EMSU_INFERENCE_ONLY
int emsu_learn_float(emsu_state_t *st, emsu_arena_t *ar, const double *x, int8_t *xq, const int32_t *y, uint32_t n,
                     uint32_t *input_sat)
{ /* emsu_learn_many of n float rows (quantised into xq, n * EMSU_N_IN bytes); *input_sat += saturated inputs.
   * Returns -1 before any work on a bad label, as learn_many. */
    uint32_t k;
    for (k = 0; k < n; k++) {
        if (y[k] < 0 || y[k] >= EMSU_N_OUT) {
            return -1;
        }
    }
    *input_sat += emsu_quantize(x, n * EMSU_N_IN, xq);
    return emsu_learn_many(st, ar, xq, y, n);
}
#endif
