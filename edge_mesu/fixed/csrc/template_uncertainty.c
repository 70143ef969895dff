/* template_uncertainty.c -- HAND-WRITTEN SOURCE of the uncertainty part of the generated <name>.c (cgen.py
 * appends it to template_core.c, so the learn path's static sampling code is reused, not written twice).
 *
 * k weight samples of the network (streams EMSU_PREDICT_STREAM + s of (seed, step): step.sampled_proba_q15),
 * each through the learn path's sampled forward (EMSU_FORWARD: dense_sampled, activate) and softmax_q15, and
 * the mutual information in integers, bit for bit edge_mesu/fixed/entropy.py: log2 in Q16 from the 65-entry
 * table emsu_log2_q16 (normalised by the leading-zero count, interpolated), entropies in Q16 bits.
 */
#ifndef EMSU_INFERENCE_ONLY
EMSU_ASSERT_SIZE(emsu_log2_frac_check, EMSU_LOG2_SEG_BITS + EMSU_ENTROPY_FRAC <= 31);

static int32_t log2_q16(uint32_t x) /* entropy.log2_q: 1 <= x < 2**31 */
{
    int e = bitlen32(x) - 1;
    uint32_t m = x << (31 - e); /* [2**31, 2**32) */
    uint32_t i = (m >> (31 - EMSU_LOG2_SEG_BITS)) & ((UINT32_C(1) << EMSU_LOG2_SEG_BITS) - 1u);
    uint32_t fu = (m >> (31 - EMSU_LOG2_SEG_BITS - EMSU_ENTROPY_FRAC)) & ((UINT32_C(1) << EMSU_ENTROPY_FRAC) - 1u);
    int32_t t0 = emsu_log2_q16[i], t1 = emsu_log2_q16[i + 1]; /* t1 - t0 < 2**11: the product fits int32 */
    int32_t d = ((t1 - t0) * (int32_t)fu + (INT32_C(1) << (EMSU_ENTROPY_FRAC - 1))) >> EMSU_ENTROPY_FRAC;
    return shl32(e, EMSU_ENTROPY_FRAC) + t0 + d;
}

static int32_t entropy_q16(const int32_t *q) /* entropy.entropy_q over EMSU_N_OUT values q >= 0 */
{
    uint32_t c, t = 0;
    uint64_t a = 0;
    int32_t h;
    for (c = 0; c < EMSU_N_OUT; c++) {
        t += (uint32_t)q[c];
        if (q[c] > 0) {
            a += (uint64_t)(uint32_t)q[c] * (uint32_t)log2_q16((uint32_t)q[c]);
        }
    }
    if (t == 0) {
        return 0;
    }
    h = log2_q16(t) - (int32_t)((a + (t >> 1)) / t);
    return h > 0 ? h : 0;
}

static int sampled_proba(emsu_state_t *st, emsu_arena_t *ar, const int8_t *x, uint32_t key_a, int32_t *p)
{ /* Q15 probabilities of the weight sample of key_a: the learn path's forward (its saturations go to
   * st->counters: the caller passes a copy) */
    int16_t *act = EMSU_BUF(ar, int16_t, ACT);
    int32_t *z = EMSU_BUF(ar, int32_t, Z);
    int64_t *acc = EMSU_BUF(ar, int64_t, ACC);
    int32_t *acc32 = EMSU_BUF(ar, int32_t, ACC32);
    widen_input(x, act);
    EMSU_LAYERS_UP(EMSU_FORWARD)
    return softmax_q15(z + emsu_z_off[EMSU_N_LAYERS - 1], p);
}

int emsu_uncertainty(const emsu_state_t *st, emsu_arena_t *ar, const int8_t *x, uint32_t k, int32_t *p_mean_q15,
                     emsu_uncertainty_t *out)
{
    emsu_state_t tmp; /* prediction never changes the state, counters included */
    int32_t p[EMSU_N_OUT], first[EMSU_N_OUT], sum[EMSU_N_OUT];
    uint32_t s, c, hsum = 0; /* sum of k entropies < 32 * 2**20 */
    int agree = 1, best = 0;
    int32_t ale, pred;
    if (k < 2u || k > EMSU_MAX_UNCERTAINTY_SAMPLES) {
        return -1;
    }
    tmp = *st;
    for (c = 0; c < EMSU_N_OUT; c++) {
        sum[c] = 0;
        first[c] = 0;
    }
    for (s = 0; s < k; s++) {
        (void)sampled_proba(&tmp, ar, x, step_key(st->seed, st->step, EMSU_PREDICT_STREAM + s), p);
        for (c = 0; c < EMSU_N_OUT; c++) {
            sum[c] += p[c];
            if (s == 0) {
                first[c] = p[c];
            } else if (p[c] != first[c]) {
                agree = 0;
            }
        }
        hsum += (uint32_t)entropy_q16(p);
    }
    ale = (int32_t)((hsum + (k >> 1)) / k);
    pred = agree ? ale : entropy_q16(sum);
    for (c = 0; c < EMSU_N_OUT; c++) {
        int32_t m = (int32_t)(((uint32_t)sum[c] + (k >> 1)) / k);
        if (p_mean_q15 != NULL) {
            p_mean_q15[c] = m;
        }
        sum[c] = m;
        best = m > sum[best] ? (int)c : best;
    }
    if (out != NULL) {
        out->predictive_q16 = pred;
        out->aleatoric_q16 = ale;
        out->mi_q16 = agree || pred <= ale ? 0 : pred - ale;
    }
    return best;
}
#ifdef EMSU_HOST_VECTOR
/* Host backend only (a device build compiles without it): weight sample s of a prediction (stream
 * EMSU_PREDICT_STREAM + s of (seed, step)) written out as int16 weights, step.weight_sample's integers: the
 * draws and the sample of dense_sampled, so emsu_predict on w (the same exact sums) gives sampled_proba's
 * probabilities, and a batch of rows reuses one sample instead of regenerating it per row. */
void emsu_weight_sample(const emsu_state_t *st, uint32_t s, int16_t *w)
{
    uint32_t k, l, ctr = step_key(st->seed, st->step, EMSU_PREDICT_STREAM + s);
    for (l = 0; l < EMSU_N_LAYERS; l++) {
        const emsu_layer_t *L = &emsu_layers[l];
        for (k = L->w_off; k < L->w_off + L->n_params; k++) {
            ctr += EMSU_GAMMA; /* draw k of the flat vector: hash32(key + (k + 1) * GAMMA) */
            w[k] = (int16_t)EMSU_SAMPLE(L, (int32_t)st->mu[k], (int32_t)L->tab[st->code[k]].sig16,
                                        EMSU_EPS(hash32(ctr)));
        }
    }
}
#endif
#endif /* EMSU_INFERENCE_ONLY */
