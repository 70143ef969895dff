"""Format 1's σ-code step against the float rule (issue 18): run with ``PYTHONPATH`` at a format-1 checkout.

The twin of ``format2_bias_probe.py`` for state format 1 (commit f5b6b78): the fixed learner (C backend) learns
``warm`` MNIST samples, then ``steps`` steps of a permuted task in numpy; per step and parameter it compares the
expected σ-code step of format 1's integer path (before and after the stochastic rounding's inner floor) with
−k·log2(1 + r) to second order of the float rule's r on the same gradient and ε. Uses format-1 internals: it
does not run on format 2.

Example::

    PYTHONPATH=/path/to/f5b6b78 python benchmarks/format1_step_probe.py --data ../shared/data/mnist
"""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=None)
    p.add_argument("--warm", type=int, default=60000)
    p.add_argument("--steps", type=int, default=1500)
    args = p.parse_args(argv)
    from edge_mesu.data import load_mnist, standardize_mnist
    from edge_mesu.fixed import FixedMESULearner
    from edge_mesu.fixed.plan import CODE_STEP_SHIFT  # type: ignore[attr-defined]  # format 1 only
    from edge_mesu.fixed.prng import EPS_FRAC, SR_BITS
    from edge_mesu.fixed.qformat import SaturationCounter
    from edge_mesu.fixed.rule import _clip, _ge_frac32, log1p_q32  # type: ignore[attr-defined]
    from edge_mesu.fixed.step import gradients, weight_sample

    X, y = load_mnist(args.data)
    X = standardize_mnist(X.reshape(len(X), -1))
    perm2 = np.random.default_rng(0).permutation(784)
    m = FixedMESULearner((784, 50, 10), bias=False, seed=0, backend="c")
    order = np.random.default_rng(1).permutation(len(X))
    m.learn_many(X[order[: args.warm]], y[order[: args.warm]])
    m._c = None
    spec, plan = m._spec, m.plan
    t, lay = plan.tables, m._spec.layout
    kl = plan.sigma_per_octave / math.log(2)
    P = lay.n_params
    acc_e, acc_q, acc_i = np.zeros(P), np.zeros(P), np.zeros(P)
    Xs = X[:, perm2]
    for it in range(args.steps):
        i = order[(args.warm + it) % len(X)]
        st, c = m._state, SaturationCounter()
        xq = m._quantize_input(Xs[i : i + 1], c)[None]
        yy = np.array([[y[i]]])
        tab = st.code_tables(spec)
        mu = st.mu.astype(np.int64)
        _, eps, w = weight_sample(spec, mu, tab.sig, st.seed, st.step, 0, c)
        ge = gradients(spec, xq, yy, w, c) * eps
        code = st.code[0].astype(np.int64)
        sig = np.concatenate([plan.sigma_of_code(code[s.start : s.stop], s.layer) for s in lay.slices])
        gef = np.concatenate(
            [ge[0, s.start : s.stop] / 2.0 ** (plan.grad_frac(s.layer) + EPS_FRAC) for s in lay.slices]
        )
        r = plan.lr_sigma * plan.c_sigma * ((1 - sig**2 / plan.sigma_prior**2) / plan.N - sig * gef)
        r = np.clip(r, -0.1, 0.1)
        acc_e += -kl * (r - r * r / 2)
        g32 = _ge_frac32(plan, list(lay.slices), ge, 1) * tab.sigl15
        g32 >>= tab.sig_shift
        ri = log1p_q32(_clip(tab.prior32 - g32, t["rmax32"], c, "x")) * -t["klog_q16"]
        acc_q += ri[0] / 2.0**CODE_STEP_SHIFT
        acc_i += (ri[0] >> (CODE_STEP_SHIFT - SR_BITS)) / 2.0**SR_BITS
        m._learn_q(xq[0], yy[0], m.counters.copy())
    n = args.steps
    for s in lay.slices:
        sl = np.s_[s.start : s.stop]
        print(
            f"layer {s.layer}: E[dc] per 1000 steps exact {1000 * acc_e[sl].mean() / n:+.5f}; departure: integer "
            f"{1000 * (acc_q[sl] - acc_e[sl]).mean() / n:+.5f}, with SR's inner floor "
            f"{1000 * (acc_i[sl] - acc_e[sl]).mean() / n:+.5f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
