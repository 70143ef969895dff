"""How few instructions per parameter can a MESU learn step take on a Cortex-M4? A floor, measured.

Issue 18 asks for <= 40 instructions per parameter per ``learn_one``. This benchmark compiles, with the
emulator's flags (``arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -O2``), kernels that keep only what any
faithful per-weight MESU step must do per parameter, and counts what they execute on the emulated core
(unicorn), per parameter, over a 784 x 50 layer:

* ``update_floor``: the update alone, with the gradient of the row given — load μ and the σ code, one
  16-byte table row by code, the μ step (prior pull + gradient, times σ², shift, stochastic rounding), the
  σ-code step (g·ε times σ, shift, prior term, second-order term, stochastic rounding), saturation by the
  ARM ``__ssat``/``__usat`` idiom, store both — with one 32-bit hash per parameter (ε from its top 12 bits,
  the two roundings from 10 bits each: half the random bits format 2 draws) and no counters;
* ``sampled_forward_floor``: the weight sample of the forward pass (hash, ε, μ + σε) and its multiply-add;
* ``backward_floor``: the regenerated weight sample times δ (the gradient to the layer below);
* ``mac_floor``: a plain int16 dot product (the mean network's predict), for scale;
* ``lrt_update_floor``: the update of local reparameterisation (the device preset's learn path) — no ε per
  parameter; the σ step from h = a²·u (u per output) times the code's σ² mantissa — with one hash per parameter,
  and ``lrt_update_floor_2draws`` with format 2's two (20 rounding bits each);
* ``lrt_forward_floor``: its forward pass, a·μ and a²·σ²[code] over rows taken in pairs.

A learn step of a hidden layer runs all three per-parameter parts; the first layer skips the backward (LRT:
the update and its forward).
The kernels are not bit-exact with format 2 (they draw half the random bits, skip the per-row counters and
the per-parameter step bounds): they are lower bounds on its work, not alternatives.

    python benchmarks/update_floor.py --json benchmarks/results/update_floor.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from firmware_sim.emulate import ARM_FLAGS, emulator_available

FAN_IN, FAN_OUT = 784, 50

KERNELS = r"""
#include <stdint.h>
typedef struct { int32_t pk, bound; int16_t sig16, var14, sigl13; int8_t mu_sh, ssh; } code_t;
#define GAMMA 0x9E3779B9u
static inline uint32_t hash32(uint32_t x)
{
    x ^= x >> 16; x *= 0x7feb352du; x ^= x >> 15; x *= 0x846ca68bu; return x ^ (x >> 16);
}
static inline int32_t ssat16(int32_t x) { return __builtin_arm_ssat(x, 16); }
static inline int32_t usat8(int32_t x) { return (int32_t)__builtin_arm_usat(x, 8); }

code_t tab[256];
int16_t gauss[4096];
int16_t mu[FAN_IN * FAN_OUT];
uint8_t code[FAN_IN * FAN_OUT];
int16_t a[FAN_IN];
int32_t d16[FAN_OUT];
int32_t acc[FAN_OUT];
int32_t back[FAN_IN];
volatile uint32_t key = 12345u;

void update_floor(void)
{
    uint32_t ctr = key;
    for (uint32_t i = 0; i < FAN_IN; i++) {
        int16_t *m = mu + i * FAN_OUT;
        uint8_t *cd = code + i * FAN_OUT;
        int32_t ai = a[i];
        for (uint32_t j = 0; j < FAN_OUT; j++) {
            uint32_t h = hash32(ctr += GAMMA);
            int32_t eps = gauss[h >> 20];
            const code_t *t = &tab[cd[j]];
            int32_t g = (ai * d16[j]) >> 15;
            int32_t x = m[j];
            int32_t q = ((-x >> 6) - g) * t->var14;                        /* prior pull and gradient, x sigma^2 */
            x += (q + (int32_t)(h & 0x3ffu)) >> t->mu_sh;                  /* stochastic rounding */
            m[j] = (int16_t)ssat16(x);
            int32_t u = t->pk - (((g * eps) >> 13) * t->sigl13 >> t->ssh); /* code step at frac 22 */
            int32_t tt = u >> 12;
            u = ((tt * tt * 89) >> 10) - u;                                /* second-order term */
            cd[j] = (uint8_t)usat8((int32_t)cd[j] + ((u + (int32_t)((h >> 10) & 0x3ffu)) >> 22));
        }
    }
}

void sampled_forward_floor(void)
{
    uint32_t ctr = key;
    for (uint32_t i = 0; i < FAN_IN; i++) {
        const int16_t *m = mu + i * FAN_OUT;
        const uint8_t *cd = code + i * FAN_OUT;
        int32_t ai = a[i];
        for (uint32_t j = 0; j < FAN_OUT; j++) {
            int32_t eps = gauss[hash32(ctr += GAMMA) >> 20];
            acc[j] += ai * (m[j] + ((tab[cd[j]].sig16 * eps) >> 14));
        }
    }
}

void backward_floor(void)
{
    uint32_t ctr = key;
    for (uint32_t i = 0; i < FAN_IN; i++) {
        const int16_t *m = mu + i * FAN_OUT;
        const uint8_t *cd = code + i * FAN_OUT;
        int32_t s = 0;
        for (uint32_t j = 0; j < FAN_OUT; j++) {
            int32_t eps = gauss[hash32(ctr += GAMMA) >> 20];
            s += (m[j] + ((tab[cd[j]].sig16 * eps) >> 14)) * d16[j];
        }
        back[i] = s;
    }
}

/* Local reparameterisation (the device preset's learn path): no weight sample, so no ε per parameter; the σ
 * step is h = a²·u (u per output) times the code's σ² mantissa. */
typedef struct { int32_t pk; int16_t var14, sq13; int8_t mu_sh, sshq; int16_t pad; } lcode_t;
lcode_t ltab[256];
uint16_t sq16[256];
int32_t u16[FAN_OUT];
uint32_t var[FAN_OUT];

void lrt_update_floor(void) /* one hash per parameter for both roundings */
{
    uint32_t ctr = key;
    for (uint32_t i = 0; i < FAN_IN; i++) {
        int16_t *m = mu + i * FAN_OUT;
        uint8_t *cd = code + i * FAN_OUT;
        int32_t ai = a[i], a2 = (ai * ai) >> 15;
        for (uint32_t j = 0; j < FAN_OUT; j++) {
            uint32_t h = hash32(ctr += GAMMA);
            const lcode_t *t = &ltab[cd[j]];
            int32_t g = (ai * d16[j]) >> 15;
            int32_t x = m[j];
            int32_t q = ((-x >> 6) - g) * t->var14;
            x += (q + (int32_t)(h & 0x3ffu)) >> t->mu_sh;
            m[j] = (int16_t)ssat16(x);
            int32_t u = t->pk - ((((a2 * u16[j]) >> 15) * t->sq13) >> t->sshq);
            int32_t tt = u >> 12;
            u = ((tt * tt * 89) >> 10) - u;
            cd[j] = (uint8_t)usat8((int32_t)cd[j] + ((u + (int32_t)((h >> 10) & 0x3ffu)) >> 22));
        }
    }
}

void lrt_update_floor_2draws(void) /* the same with format 2's two draws per parameter (A rounds the code, B mu) */
{
    uint32_t ca = key, cb = key ^ 0x5bd1e995u;
    for (uint32_t i = 0; i < FAN_IN; i++) {
        int16_t *m = mu + i * FAN_OUT;
        uint8_t *cd = code + i * FAN_OUT;
        int32_t ai = a[i], a2 = (ai * ai) >> 15;
        for (uint32_t j = 0; j < FAN_OUT; j++) {
            uint32_t hb = hash32(cb += GAMMA), ha = hash32(ca += GAMMA);
            const lcode_t *t = &ltab[cd[j]];
            int32_t g = (ai * d16[j]) >> 15;
            int32_t x = m[j];
            int32_t q = ((-x >> 6) - g) * t->var14;
            x += (q + (int32_t)(hb & 0xfffffu)) >> t->mu_sh;
            m[j] = (int16_t)ssat16(x);
            int32_t u = t->pk - ((((a2 * u16[j]) >> 15) * t->sq13) >> t->sshq);
            int32_t tt = u >> 12;
            u = ((tt * tt * 89) >> 10) - u;
            cd[j] = (uint8_t)usat8((int32_t)cd[j] + ((u + (int32_t)(ha & 0xfffffu)) >> 22));
        }
    }
}

void lrt_forward_floor(void) /* m = a·mu and v = a²·σ² in one pass over rows taken in pairs (as dense_lrt) */
{
    for (uint32_t i = 0; i < FAN_IN; i += 2) {
        const int16_t *m = mu + i * FAN_OUT;
        const uint8_t *cd = code + i * FAN_OUT;
        int32_t a0 = a[i], a1 = a[i + 1];
        uint32_t a20 = (uint32_t)(a0 * a0) >> 15, a21 = (uint32_t)(a1 * a1) >> 15;
        for (uint32_t j = 0; j < FAN_OUT; j++) {
            acc[j] = acc[j] + a0 * m[j] + a1 * m[j + FAN_OUT];
            var[j] = var[j] + a20 * sq16[cd[j]] + a21 * sq16[cd[j + FAN_OUT]];
        }
    }
}

void mac_floor(void)
{
    for (uint32_t i = 0; i < FAN_IN; i++) {
        const int16_t *m = mu + i * FAN_OUT;
        int32_t ai = a[i];
        for (uint32_t j = 0; j < FAN_OUT; j++) {
            acc[j] += ai * m[j];
        }
    }
}
void emu_init(void) {}
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    reason = emulator_available()
    if reason is not None:
        print(f"skipped: {reason}")
        return
    from firmware_sim.emulate_device import _build, _Device

    n = FAN_IN * FAN_OUT
    src = KERNELS.replace("FAN_IN", str(FAN_IN)).replace("FAN_OUT", str(FAN_OUT))
    with tempfile.TemporaryDirectory(prefix="edge_mesu_floor_") as tmp:
        elf = _build({"floor.c": src, "harness.c": "void emu_unused(void) {}\n"}, ["floor"], Path(tmp))
        dev = _Device(elf)
    rng = np.random.default_rng(0)
    dev.write("a", rng.integers(-3000, 3000, FAN_IN).astype("<i2").tobytes())  # every row active
    dev.write("d16", rng.integers(-2000, 2000, FAN_OUT).astype("<i4").tobytes())
    dev.write("mu", rng.integers(-4000, 4000, n).astype("<i2").tobytes())
    dev.write("code", rng.integers(0, 256, n).astype("u1").tobytes())
    dev.write("gauss", rng.integers(-15000, 15000, 4096).astype("<i2").tobytes())
    tab = np.zeros(256, dtype=[("pk", "<i4"), ("bound", "<i4"), ("sig16", "<i2"), ("var14", "<i2"),
                               ("sigl13", "<i2"), ("mu_sh", "i1"), ("ssh", "i1")])  # fmt: skip
    tab["pk"], tab["sig16"], tab["var14"], tab["sigl13"] = 1000, 3000, 8000, 5000
    tab["mu_sh"], tab["ssh"] = 20, 18
    dev.write("tab", tab.tobytes())
    ltab = np.zeros(256, dtype=[("pk", "<i4"), ("var14", "<i2"), ("sq13", "<i2"), ("mu_sh", "i1"), ("sshq", "i1"),
                                ("pad", "<i2")])  # fmt: skip
    ltab["pk"], ltab["var14"], ltab["sq13"], ltab["mu_sh"], ltab["sshq"] = 1000, 8000, 5000, 20, 18
    dev.write("ltab", ltab.tobytes())
    dev.write("sq16", rng.integers(1, 65535, 256).astype("<u2").tobytes())
    dev.write("u16", rng.integers(-2000, 2000, FAN_OUT).astype("<i4").tobytes())
    out = {}
    fns = ("update_floor", "sampled_forward_floor", "backward_floor", "mac_floor")
    for fn in fns + ("lrt_update_floor", "lrt_update_floor_2draws", "lrt_forward_floor"):
        _, count, done = dev.call(fn, count=True)
        assert done, fn
        out[fn] = count / n
    hidden = out["update_floor"] + out["sampled_forward_floor"] + out["backward_floor"]
    first = out["update_floor"] + out["sampled_forward_floor"]
    print(f"instructions per parameter on the emulated Cortex-M4 ({' '.join(ARM_FLAGS[:3])}), {FAN_IN}x{FAN_OUT}:")
    for fn, v in out.items():
        print(f"  {fn:24s} {v:6.1f}")
    print(f"  learn step floor: first layer {first:.1f}, hidden layer {hidden:.1f} (target <= 40; format 2: 119.8)")
    lrt_first = out["lrt_update_floor"] + out["lrt_forward_floor"]
    lrt_first2 = out["lrt_update_floor_2draws"] + out["lrt_forward_floor"]
    print(f"  LRT learn step floor, first layer: {lrt_first:.1f} with one draw per parameter, {lrt_first2:.1f} with "
          f"format 2's two (generated C: 102.8)")  # fmt: skip
    if args.json:
        Path(args.json).write_text(
            json.dumps({"flags": list(ARM_FLAGS), "layer": [FAN_IN, FAN_OUT], "per_parameter": out,
                        "learn_floor_first_layer": first, "learn_floor_hidden_layer": hidden,
                        "lrt_learn_floor_first_layer": lrt_first,
                        "lrt_learn_floor_first_layer_two_draws": lrt_first2}, indent=1) + "\n",
            encoding="utf-8",
        )  # fmt: skip


if __name__ == "__main__":
    main()
