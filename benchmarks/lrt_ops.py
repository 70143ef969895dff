"""What local reparameterisation (LRT) would save in a device's learn step: an op-count estimate.

Today's learn step (:func:`edge_mesu.ops.operation_list`, the generated C of state format 2) draws per
parameter: draw A for ε in the forward pass, draw A again in the backward pass (ε regenerated; its low bits
round σ's code) and draw B (μ's rounding): three hashes and two inverse-CDF lookups per parameter. With LRT
the forward pass samples each pre-activation, b_j = m_j + s_j·ε_j, m = a·μ, s² = a²·σ²: the Gaussian draws are
per output (60 for 784-50-10), but the variance needs a second dot product, a square root per output, and the
fixed-point update still needs its stochastic-rounding bits per parameter (one hash for σ's code and one for μ;
or one hash split into two 16-bit roundings, which would be a format change).

This script rewrites today's op list layer by layer into the LRT one (same kinds, same cost table) and prices
both on device profiles with :mod:`firmware_sim.latency`'s cycle costs. It is a model: nothing of it is ported
to the fixed-point learner or the C. Counting choices (each in the op's note): the square root counts as one
``div`` (an integer or VSQRT square root costs about a division on these cores), the ε of the outputs are kept
in RAM between the passes (fan_out values) instead of being regenerated, and the variance dot product runs at
the cost of the widest MAC kind (a² is 16-bit; its accumulator needs more range than today's, not costed).

Example::

    python benchmarks/lrt_ops.py --json benchmarks/results/lrt_ops.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from edge_mesu import FixedMESULearner, MESULearner
from edge_mesu.ops import Op, operation_list, total_by_kind
from firmware_sim.device import load_device
from firmware_sim.latency import cost_of

LAYERS = (784, 50, 10)
DEVICES = ("stm32l4", "rp2040")
# today's per-parameter sampling ops that LRT removes (forward: ε, w = μ + σ·ε; backward: ε regenerated)
REMOVED = ("eps", "eps_gauss", "sample", "sample_round", "row_store", "eps_regen", "eps_regen_gauss")


def lrt_ops(today: list[Op], layers: tuple[int, ...], bias: bool, is_float: bool, sr_draws: int) -> list[Op]:
    """Today's learn op list (one weight sample) rewritten for LRT. ``sr_draws``: hashes per parameter for the
    fixed update's stochastic roundings (2: σ's and μ's 20-bit roundings as today; 1: one hash split in two)."""
    shapes = [(a, b, a * b + (b if bias else 0)) for a, b in zip(layers[:-1], layers[1:])]
    f = (lambda k: {"mul": "fmul", "alu": "falu", "div": "fdiv", "mac16x16": "fmac"}.get(k, k)) if is_float else str
    out: list[Op] = []
    for op in today:
        layer, _, what = op.name.partition(".")
        if not layer.startswith("fc"):
            out.append(op)
            continue
        i = int(layer[2:])
        fan_in, fan_out, p = shapes[i]
        if what in REMOVED:
            continue
        if what == "sigma_lut":  # forward: σ² from the code instead of σ (one table either way)
            out.append(Op(f"fc{i}.sigma2_lut", "lut", p, "σ² from its code, for the variance"))
            continue
        if what == "state_load" and is_float:
            out += [op, Op(f"fc{i}.sigma2", "fmul", p, "σ² for the variance")]
            continue
        if what == "forward":
            out += [
                Op(f"fc{i}.forward_mean", op.kind, op.count, "m = a·μ (μ instead of the sampled w)"),
                Op(f"fc{i}.act_square", f("mul"), fan_in, "a² once per input"),
                Op(f"fc{i}.forward_var", f("mac16x16"), fan_in * fan_out, "s² = a²·σ²: the second dot product"),
                Op(f"fc{i}.out_eps", "prng", fan_out, "one draw per output"),
                Op(f"fc{i}.out_eps_gauss", "lut", fan_out, "inverse-CDF table"),
                Op(f"fc{i}.out_eps_store", "load_store", fan_out, "ε_j kept for the backward pass"),
                Op(f"fc{i}.sqrt", f("div"), fan_out, "s = √s² (counted as one division)"),
                Op(f"fc{i}.preact", f("mul"), fan_out, "b = m + s·ε"),
                Op(f"fc{i}.preact_round", f("alu"), 2 * fan_out, "add, shift/saturate"),
            ]
            continue
        if what == "bias":
            out += [op, Op(f"fc{i}.bias_var", op.kind, op.count, "σ_b² into s²")]
            continue
        if what == "state_load_bwd":
            out += [
                Op(f"fc{i}.out_eps_load", "load_store", fan_out, "ε_j back"),
                Op(f"fc{i}.inv_s", f("div"), fan_out, "1/s_j"),
                Op(f"fc{i}.u", f("mul"), 2 * fan_out, "u_j = δ_j·ε_j/s_j"),
                op,
            ]
            continue
        if what == "backward_delta":
            out += [
                Op(f"fc{i}.backward_delta", op.kind, op.count, "δ_prev += μ·δ + σ²·u (two MACs per weight)"),
                Op(f"fc{i}.backward_delta_a", f("mul"), fan_in, "× a_i of the variance path"),
            ]
            continue
        if what == "grad":
            out.append(Op(f"fc{i}.grad", op.kind, 3 * p, "g_μ = a·δ, g_σ = σ·a²·u"))
            continue
        if what == "sr_draw":  # format 2 took σ's rounding bits from the regenerated ε draw
            out.append(Op(f"fc{i}.sr_draw", "prng", sr_draws * p, f"{sr_draws} draw(s): rounding bits of μ and σ"))
            continue
        out.append(op)
    return out


def _summary(ops: list[Op], params: int) -> dict[str, Any]:
    totals = total_by_kind(ops)
    row: dict[str, Any] = {
        "by_kind": totals,
        "prng_per_param": totals.get("prng", 0) / params,
        "gauss_lut": sum(o.count for o in ops if "gauss" in o.name),
        "cycles": {},
    }
    for dev in DEVICES:
        device = load_device(dev)
        row["cycles"][dev] = sum(o.count * cost_of(o.kind, device) for o in ops)
    return row


def run() -> dict[str, Any]:
    out: dict[str, Any] = {"network": list(LAYERS), "bias": False, "devices": list(DEVICES), "rows": {}}
    for name, learner in (
        # weight sampling pinned: the learners' default became LRT, and "today" here is the weight-sampling list
        ("fixed", FixedMESULearner(layers=LAYERS, bias=False, seed=0, sampling="weights")),
        ("float", MESULearner(layers=LAYERS, bias=False, seed=0, sampling="weights")),
    ):
        d = learner.describe()
        params = d.n_params
        today = operation_list(d, "learn")
        is_float = d.arithmetic.is_float
        out["rows"][f"{name}, weights (today)"] = _summary(today, params)
        for sr in (2, 1) if not is_float else (0,):
            label = f"{name}, LRT" + ("" if is_float else f" ({sr} rounding draw{'s' if sr > 1 else ''}/param)")
            out["rows"][label] = _summary(lrt_ops(today, LAYERS, False, is_float, sr), params)
    return out


def format_table(res: dict[str, Any]) -> str:
    lines = [
        "| learn step, 784-50-10 | prng draws | per param | inverse-CDF lookups | MACs (dot products) | "
        + " | ".join(f"cycles {d}" for d in res["devices"])
        + " |",
        "|---|---|---|---|---|" + "---|" * len(res["devices"]),
    ]
    for label, r in res["rows"].items():
        k = r["by_kind"]
        macs = sum(v for kk, v in k.items() if kk.startswith("mac") or kk == "fmac")
        cyc = " | ".join(f"{r['cycles'][d]:,.0f}" for d in res["devices"])
        lines.append(
            f"| {label} | {k.get('prng', 0):,} | {r['prng_per_param']:.3f} | {r['gauss_lut']:,} | {macs:,} | {cyc} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", default=None, metavar="OUT.json")
    a = p.parse_args(argv)
    res = run()
    print(format_table(res))
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
