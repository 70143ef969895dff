/* template_frontend.h -- HAND-WRITTEN SOURCE of the generated front end's <name>.h (edge_mesu/frontend/cgen.py
 * fills the configuration block from a FrontEndSpec and renames the emfe_/EMFE_ prefix).
 *
 * The integer sensor front end of edge_mesu.frontend.FrontEnd, bit for bit (docs/frontend.md,
 * edge_mesu/frontend/normalise.py): raw int16 samples -> decimation (block average, round half to even)
 * -> per-channel running mean / variance -> every hop: the last window normalised, clipped and either
 * emitted as int8 (raw mode) or reduced to (mean, RMS, min, max) per channel (feature mode).
 * No dynamic allocation, no floating point, <stdint.h>/<stddef.h> only, portable C99 shifts.
 *
 * Labels: the device passes one label per raw sample (-1 = none), as Python's FrontEnd.push does; a
 * window's label is its last sample's (rule "last") or the most frequent one among its samples, ties to
 * the smallest class (rule "majority", which keeps the window's last WINDOW - 1 labels in the state).
 * Labels must lie in [-1, 32766] (others are stored as -1); with "majority", labels >= EMFE_N_CLASSES are
 * kept in the history (the state stays Python's) but never win a window.
 */
#ifndef EMFE_H
#define EMFE_H

#include <stddef.h>
#include <stdint.h>

/*@CONFIG@*/

/* Whole front-end state (RAM). Persist it with emfe_state_save / emfe_state_load: the blob is the state
 * of Python's FrontEnd.state() (edge_mesu.frontend.cblob), so a stream can stop and resume anywhere, even
 * inside a window, on either side. */
typedef struct {
    int32_t mean[EMFE_CHANNELS];              /* running mean, counts * 2**16 */
    int64_t var[EMFE_CHANNELS];               /* running variance, counts**2 * 2**16 */
    int32_t acc[EMFE_CHANNELS];               /* decimation sum of the current block */
    int16_t ring[EMFE_FRAMES * EMFE_CHANNELS]; /* last FRAMES decimated samples, time-major, ring */
    int16_t labels[EMFE_LABEL_RING];          /* last WINDOW - 1 raw labels (majority rule), ring */
    uint64_t seen;                            /* raw samples consumed since the start */
    uint32_t k;                               /* samples absorbed by the normaliser (saturates at 2**tau) */
    uint32_t acc_n;                           /* raw samples in the decimation sum */
    uint32_t countdown;                       /* decimated samples until the next window end */
    uint32_t ring_pos;                        /* index (in frames) of the oldest frame of ring */
    uint32_t label_pos;                       /* index of the oldest label of labels */
    uint32_t frozen;                          /* 1: mean and variance are not updated */
    uint32_t counters[EMFE_N_COUNTERS];       /* input_limit, warmup_windows, clip, saturate (saturating) */
#if EMFE_MAJORITY
    uint32_t hist[EMFE_N_CLASSES];            /* scratch of the majority vote (not persisted) */
#endif
} emfe_state_t;

/* The initial state (what FrontEnd(spec) starts from). */
void emfe_reset(emfe_state_t *st);

/* Stop (frozen != 0) or resume updating the running mean and variance (FrontEnd.freeze). */
void emfe_freeze(emfe_state_t *st, int frozen);

/* Consume one raw sample (EMFE_CHANNELS int16 values) and its label (-1: none). When it ends a window
 * (and the warm-up is over) writes EMFE_N_OUTPUTS int8 values to out and the window's label to *label
 * (may be NULL) and returns 1; otherwise returns 0 and leaves out alone. */
int emfe_push(emfe_state_t *st, const int16_t *sample, int32_t label, int8_t *out, int32_t *win_label);

/* FrontEnd.push(samples, labels, max_windows) on n raw samples x[n][EMFE_CHANNELS] (labels may be NULL):
 * window w goes to out + w * EMFE_N_OUTPUTS, its label to win_labels[w], the index of its last raw sample
 * to ends[w] (win_labels and ends may be NULL). Stops right after max_windows windows; *consumed (may be
 * NULL) receives the samples taken. Returns the number of windows. */
uint32_t emfe_push_block(emfe_state_t *st, const int16_t *x, const int32_t *labels, uint32_t n, int8_t *out,
                         int32_t *win_labels, uint64_t *ends, uint32_t max_windows, uint32_t *consumed);

/* Serialise the state to EMFE_STATE_BYTES bytes (little-endian, CRC32; layout in edge_mesu.frontend.cblob).
 * Returns the bytes written, or 0 when cap is too small. */
size_t emfe_state_save(const emfe_state_t *st, uint8_t *buf, size_t cap);

/* Restore a state written by emfe_state_save or by Python (edge_mesu.frontend.cblob.frontend_blob).
 * Returns 0, or (state untouched) -1 size, -2 magic/version, -3 other configuration, -4 CRC mismatch,
 * -5 counters out of range. */
int emfe_state_load(emfe_state_t *st, const uint8_t *buf, size_t len);

#endif /* EMFE_H */
