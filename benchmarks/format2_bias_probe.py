"""Where does format 2's integer step depart from exact arithmetic? Per-step expectations, accumulated.

Runs the fixed learner (C backend) through ``--warm`` permuted-MNIST samples, then ``--steps`` more in numpy,
replaying each format-2 step with its intermediates. For every parameter it accumulates the expected σ-code
step E[Δc] (before the stochastic rounding) and the expected μ step E[Δμ] (LSB) under variants that undo one
rounding of the format-2 pipeline at a time (all on the same sample, weights and ε; the trajectory is format
2's own):

  exact     δ before its block exponent, a ⊗ δ, g·ε, the σ factor of u and the prior term in float
  delta16   δ16·2**e (the per-layer block exponent) instead of δ, the rest exact
  g16       + the per-row rounding g16 = rhu(a·δ16 / 2**t)
  ge        + ge = rhu(g16·ε, 13)
  floor     + floor of the σ factor of u, the pk table
  int       + the integer u² term (= format 2's d, before SR)
  sr        + SR's inner floor (format 2's E[Δc] exactly)

Prints per layer the mean E[Δc] per parameter and step of each variant and the RMS over parameters of its
accumulated departure from ``exact``, relative to the RMS of the accumulated exact step.

Example::

    python benchmarks/format2_bias_probe.py --data ../shared/data/mnist --warm 60000 --steps 2000
"""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=None)
    p.add_argument("--warm", type=int, default=60000, help="samples learned first (C backend)")
    p.add_argument("--steps", type=int, default=2000, help="instrumented steps (numpy)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--state", default=None, help="start from this .npz (mu, code) instead of --warm samples")
    args = p.parse_args(argv)

    from edge_mesu.data import load_mnist, standardize_mnist
    from edge_mesu.fixed import FixedMESULearner
    from edge_mesu.fixed.kernels import ACC_FMT, _bitlen, _matmul_exact, forward, normalize_delta, softmax_q15
    from edge_mesu.fixed.plan import DH_FRAC, GE_SHIFT, P_FRAC, U_FRAC
    from edge_mesu.fixed.prng import SR_STREAM, draws_at, sr_bits, step_keys
    from edge_mesu.fixed.qformat import SaturationCounter
    from edge_mesu.fixed.rounding import shift_round_even
    from edge_mesu.fixed.rule import mesu_step_int, rhu
    from edge_mesu.fixed.step import weight_sample

    X, y = load_mnist(args.data)
    X = standardize_mnist(X.reshape(len(X), -1))
    rng = np.random.default_rng(args.seed)
    perm2 = rng.permutation(784)
    m = FixedMESULearner((784, 50, 10), bias=False, seed=args.seed, backend="c")
    order = np.random.default_rng(args.seed + 1).permutation(len(X))
    if args.state:
        st = np.load(args.state)
        m._mu, m._code = st["mu"], st["code"]
        m._step = 600000
    else:
        m.learn_many(X[order[: args.warm]], y[order[: args.warm]])
    m._c = None  # numpy from here on (bit-identical)
    spec, plan = m._spec, m.plan
    t = plan.tables
    k = plan.sigma_per_octave
    layout = spec.layout
    P = layout.n_params
    variants = ("exact", "delta16", "g16", "ge", "floor", "int", "sr")
    acc_c = {v: np.zeros(P) for v in variants}
    acc_m = {v: np.zeros(P) for v in ("exact", "delta16", "g16", "fmt2")}
    abs_c = np.zeros(P)
    Xs = X[:, perm2]
    start = args.warm
    for it in range(args.steps):
        i = order[(start + it) % len(X)]
        state = m._state
        counter = SaturationCounter()
        x_q = m._quantize_input(Xs[i : i + 1], counter)[None]
        yy = np.array([[y[i]]])
        tables = state.code_tables(spec)
        mu = state.mu.astype(np.int64)
        draws, eps, w = weight_sample(spec, mu, tables.sig16, state.seed, state.step, 0, counter)
        weights, biases = layout.split(w)
        logits, acts, zs = forward(plan, x_q, weights, biases, counter)
        pq = softmax_q15(plan, logits, spec.logits_frac)
        onehot = (np.arange(pq.shape[-1]) == yy[..., None]).astype(np.int64) << P_FRAC
        raw = [(pq - onehot).astype(np.float64)]
        d16, e = normalize_delta(pq - onehot)
        deltas = [(d16, e)]
        for l in range(len(weights) - 1, 0, -1):
            back = _matmul_exact(d16, np.swapaxes(weights[l], -1, -2), 2.0**15)
            shift = plan.mu_fmts[l].frac + plan.delta_frac(l) - DH_FRAC - e
            back = np.where(shift >= 0, shift_round_even(back, np.maximum(shift, 0)), back << np.maximum(-shift, 0))
            delta = ACC_FMT.saturate(back, counter, "delta") * (zs[l - 1] > 0)
            # exact hidden δ from the exact output δ (format 1's arithmetic, unrounded)
            rb = (
                raw[0]
                @ np.swapaxes(weights[l], -1, -2).astype(np.float64)
                * 2.0 ** (DH_FRAC - plan.mu_fmts[l].frac - plan.delta_frac(l))
            )
            raw.insert(0, rb * (zs[l - 1] > 0))
            d16, e = normalize_delta(delta)
            deltas.insert(0, (d16, e))
        g16 = np.empty((1, P), dtype=np.int64)
        tau = np.empty((1, P), dtype=np.int64)
        Gx = np.empty(P)
        Gd = np.empty(P)
        for l, (a, (dd, ee)) in enumerate(zip(acts, deltas)):
            sl = layout.slices[l]
            a0 = a[0, 0].astype(np.int64)
            d0 = dd[0, 0].astype(np.int64)
            ev = int(ee[0, 0, 0])
            peak = np.abs(a0) * np.abs(d0).max()
            tt = np.maximum(np.maximum(_bitlen(peak) - 15, 0), t["tau_min"][l] - ev)
            G = a0[:, None] * d0[None, :]
            g16[0, sl.start : sl.stop] = rhu(G, tt[:, None]).ravel()
            tau[0, sl.start : sl.stop] = np.broadcast_to((tt + ev)[:, None], G.shape).ravel()
            Gd[sl.start : sl.stop] = (G * 2.0**ev).ravel()
            Gx[sl.start : sl.stop] = (a0[:, None].astype(np.float64) * raw[l][0, 0][None, :]).ravel()
        ge = rhu(g16 * eps, GE_SHIFT)
        epsf = eps[0].astype(np.float64)
        tau0 = tau[0].astype(np.float64)
        code = state.code[0].astype(np.int64)
        # σ step per variant: u at frac 22 in float; X = ge·sigl13 / 2**(ssh − τ), ge in units of 2**(τ+13)
        sigl = tables.sigl13[0].astype(np.float64)
        ssh = tables.ssh[0].astype(np.float64)
        sig_now = np.concatenate([plan.sigma_of_code(code[sl.start : sl.stop], sl.layer) for sl in layout.slices])
        kl = k / math.log(2.0)
        pk_exact = kl * plan.lr_sigma * plan.c_sigma * (1.0 - sig_now**2 / plan.sigma_prior**2) / plan.N * 2.0**U_FRAC
        pk = tables.pk[0].astype(np.float64)
        umax = float(t["umax"])

        def dstep(gef, floor, pkv, sigl=sigl, ssh=ssh, tau0=tau0, umax=umax):  # type: ignore[no-untyped-def]
            Xf = gef * sigl / 2.0 ** (ssh - tau0)
            if floor:
                Xf = np.floor(Xf)
            u = np.clip(pkv - Xf, -umax, umax)
            return -(u - u * u * math.log(2.0) / (2 * k) / 2.0**U_FRAC) / 2.0**U_FRAC

        def gef_of(Gf, tau0=tau0, epsf=epsf):  # type: ignore[no-untyped-def]  # g·ε/2**13 in units of 2**τ
            return Gf / 2.0**tau0 * epsf / 2.0**GE_SHIFT

        dc = {
            "exact": dstep(gef_of(Gx), False, pk_exact),
            "delta16": dstep(gef_of(Gd), False, pk_exact),
            "g16": dstep(gef_of(g16[0] * 2.0**tau0), False, pk_exact),
            "ge": dstep(ge[0].astype(np.float64), False, pk_exact),
            "floor": dstep(ge[0].astype(np.float64), True, pk),
        }
        # format 2's exact d and its SR inner floor, from the integer code path
        x = ge[0] * tables.sigl13[0].astype(np.int64)
        sh = tables.ssh[0].astype(np.int64) - tau[0]
        Xi = np.where(sh >= 0, x >> np.maximum(sh, 0), x << np.maximum(-sh, 0))
        u = np.clip(tables.pk[0].astype(np.int64) - Xi, -t["umax"], t["umax"])
        a_ = t["lp_a"]
        tt_ = (u + (1 << (a_ - 1))) >> a_
        d = -(u - ((tt_ * tt_ * t["lp_q"]) >> t["lp_sh"]))
        dc["int"] = d / 2.0**U_FRAC
        dc["sr"] = (d >> (U_FRAC - 20)) / 2.0**20
        for v in variants:
            acc_c[v] += dc[v]
        abs_c += np.abs(dc["exact"])
        # μ step, E[Δμ] in LSB (prior pull negligible at σp = 1, included exactly)
        var = tables.var14[0].astype(np.float64) / 2.0 ** (tables.mu_sh[0].astype(np.float64) - tau0)
        pull = (
            np.concatenate(
                [
                    (t["mu_prior_q"][sl.layer] - mu[0, sl.start : sl.stop]) * t["prior"][sl.layer].value
                    for sl in layout.slices
                ]
            )
            / 2.0**tau0
        )
        acc_m["exact"] += (pull - Gx / 2.0**tau0) * var
        acc_m["delta16"] += (pull - Gd / 2.0**tau0) * var
        acc_m["g16"] += (pull - g16[0]) * var
        # the real step (the trajectory): format 2
        rnd_sig = sr_bits(draws)
        rnd_mu = sr_bits(draws_at(step_keys(state.seed, state.step, SR_STREAM), P))
        old = state.code
        new_mu, new_code = mesu_step_int(
            plan, list(layout.slices), mu, old, g16, tau, ge, rnd_mu, rnd_sig, spec.rounding, counter, tables
        )
        acc_m["fmt2"] += new_mu[0].astype(np.float64) - mu[0]
        tables.update(old, new_code)
        state.mu, state.code = new_mu, new_code
        state.step += 1
    n = args.steps
    for sl in layout.slices:
        s = np.s_[sl.start : sl.stop]
        ref = acc_c["exact"][s]
        print(f"layer {sl.layer}: sigma-code step, codes per parameter per 1000 steps (mean), departure from exact")
        for v in variants:
            dev = acc_c[v][s] - ref
            print(
                f"  {v:8s} mean {1000 * acc_c[v][s].mean() / n:+.5f}  bias {1000 * dev.mean() / n:+.5f}  "
                f"rms(dev)/rms(exact) {np.sqrt((dev**2).mean()) / np.sqrt((ref**2).mean()):.4f}"
            )
        refm = acc_m["exact"][s]
        print(f"layer {sl.layer}: mu step, LSB per parameter (sum over the steps), departure from exact")
        for v in acc_m:
            dev = acc_m[v][s] - refm
            cor = float(np.corrcoef(dev, refm)[0, 1]) if dev.std() > 0 else 0.0
            print(
                f"  {v:8s} rms(sum) {np.sqrt((acc_m[v][s] ** 2).mean()):.3f}  rms(dev)/rms(exact) "
                f"{np.sqrt((dev**2).mean()) / np.sqrt((refm**2).mean()):.4f}  corr(dev, exact) {cor:+.3f}  "
                f"shrink {float((dev * refm).sum() / (refm * refm).sum()):+.4f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
