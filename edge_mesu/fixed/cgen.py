"""Generate a self-contained C99 library of a :class:`FixedMESULearner`: inference and the MESU update.

The C code is hand-written once (``csrc/template_core.c``, ``csrc/template_api.h``); what changes per network
is generated here from the network's frozen plan: dimensions, formats and shifts (macros), the per-σ-code tables of
:mod:`edge_mesu.fixed.plan`, the σ sampling tables of :mod:`edge_mesu.fixed.kernels`, the Gaussian and
exp2 tables, and the μ / σ-code state arrays. Integer results are those of the Python learner, bit for bit
(``tests/test_c_firmware.py`` compares the full state after every update).

Files (``name`` is a C identifier prefix, default ``mesu_net``)::

    name.h        API, dimensions, formats, NAME_ARENA_BYTES / NAME_STATE_BYTES / NAME_RAM_BYTES
    name_model.h  tables and the exported state (included once, by name.c)
    name.c        integer predict, learn_one, uncertainty, state save/load (no malloc, no float, stdint/stddef
                  only): csrc/template_core.c followed by csrc/template_uncertainty.c

The generator reads the network's public description (``learner.describe()``: its :class:`FixedNetwork`),
never a learner's attributes. Supported: ``train_samples == 1`` (what a device runs), ``sigma_grad="reparam"``,
both samplings (``"weights"``, or ``"lrt"``: the learn path of :mod:`edge_mesu.fixed.lrt`, chosen at compile time
by the header's ``NAME_LRT``), int8 input, int16 activations, int16 μ. Anything else raises ``ValueError``
before a file is written.

Example
-------
>>> from edge_mesu.fixed import FixedMESULearner
>>> src = generate_c(FixedMESULearner((4, 3, 2), seed=0).describe(), name="tiny")
>>> sorted(src.files), src.macros["TINY_N_PARAMS"]
(['tiny.c', 'tiny.h', 'tiny_model.h'], 23)
"""

from __future__ import annotations

import json
import keyword
import re
import zlib
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

from ..interface import Describable, FixedNetwork, NetworkDescription, describe
from ..memplan import plan_memory
from .buffers import ARENA_ALIGNMENT, arena_buffers
from .entropy import ENTROPY_FRAC, LOG2_SEG_BITS, MAX_UNCERTAINTY_SAMPLES, log2_table
from .kernels import ACC_FMT, DELTA_L1_MAX, sigma_sample_table
from .lrt import LRT_STREAM, SHIFT_SAT_BITS, SQRT_TOP, U_BITS, U_SHIFT
from .plan import (
    DH_FRAC,
    DMU_SAT,
    EXP2_INDEX_BITS,
    GE_SHIFT,
    LOG2E_FRAC,
    P_FRAC,
    SOFTMAX_D_MIN,
    U_FRAC,
    Z_FRAC,
    FixedPlan,
)
from .prng import (
    EPS_FRAC,
    EPS_SHIFT,
    GAMMA,
    GAUSS_INDEX_BITS,
    HASH_M1,
    HASH_M2,
    HASH_SHIFTS,
    SEED_SALT,
    SR_BITS,
    SR_STREAM,
    gauss_table,
)
from .qformat import Rounding
from .step import PREDICT_STREAM

__all__ = [
    "COUNTER_NAMES",
    "BLOB_VERSION",
    "CSource",
    "blob_header_bytes",
    "config_hash",
    "fixed_network",
    "generate_c",
    "host_glue",
    "sanitize_name",
    "state_blob_bytes",
    "unsupported_reason",
]

COUNTER_NAMES = (
    "input",
    "w_sample",
    "acc",
    "act",
    "delta",
    "grad_clip",
    "mu_step_clip",
    "mu",
    "sigma_step_clip",
    "sigma_code",
)
BLOB_VERSION = 2  # state format 2: the 32-bit arithmetic (a version-1 blob is converted by cblob, with a warning)
ACC_BUDGET = 1 << 16  # rows of one int32 accumulation: Σ|a| <= 2**16, |w| <= 32767
VPACK_SHIFT = 16  # LRT host vector tables: two per-code fields in one int32 (one gather), high << 16 | low
VAR_BUDGET = 1 << 16  # LRT: rows of one uint32 variance accumulation: Σ a2 <= 2**16, sq16 < 2**16


@dataclass(frozen=True)
class CSource:
    """The generated files (name → text), the identifier prefix and the numeric macros of the header."""

    name: str
    files: dict[str, str]
    macros: dict[str, int]


def sanitize_name(name: str) -> str:
    """A lower-case C identifier from ``name`` (non-identifier characters become ``_``).

    >>> sanitize_name("My Net-1")
    'my_net_1'
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"C name must be a non-empty string, got {name!r}")
    out = re.sub(r"[^0-9a-zA-Z_]", "_", name.strip()).lower()
    if out[0].isdigit():
        out = "n_" + out
    if keyword.iskeyword(out) or out in {"int", "char", "void", "static", "const", "register", "auto"}:
        out += "_net"
    return out[:40]


def blob_header_bytes() -> int:
    """Bytes of the blob before the μ array: magic, version, layers, hash, params, seed, step, counters."""
    return 4 + 2 + 2 + 4 + 4 + 8 + 8 + 4 * len(COUNTER_NAMES)


def state_blob_bytes(n_params: int) -> int:
    """Size of the raw C state blob of a network with ``n_params`` parameters."""
    return blob_header_bytes() + 3 * n_params + 4


def config_hash(net: FixedNetwork) -> int:
    """CRC32 of the network's plan and rounding: a blob is only loaded by the network that wrote it.

    ``sampling`` is deliberately not part of it: the blob holds μ, σ codes, seed, step and counters, whose
    meaning (formats, σ windows, tables: the plan) is the same under weight sampling and local
    reparameterisation, so a state moves between a weight-sampling and an LRT build of the same network
    (e.g. learned on an LRT device, continued on another). Leaving it out also keeps every existing blob's
    hash. (``rounding`` and ``train_samples`` stay in, as they always were: changing the hash would make
    every stored blob unloadable.)
    """
    text = json.dumps(
        {"plan": net.plan.to_dict(), "rounding": net.rounding.value, "train_samples": net.train_samples}, sort_keys=True
    )
    return zlib.crc32(text.encode("utf-8")) & 0xFFFFFFFF


def unsupported_reason(net: FixedNetwork) -> str | None:
    """Why the C port cannot run this network, or None when it can."""
    plan = net.plan
    if net.train_samples != 1:
        return (
            f"C export supports train_samples=1 (one weight sample per update, what a device runs), got "
            f"train_samples={net.train_samples}"
        )
    if net.sampling not in ("weights", "lrt") or net.sigma_grad != "reparam":
        return (
            f"C export learns as the device does: one weight sample per parameter or one pre-activation sample "
            f"per output (sampling='weights' or 'lrt') and the reparameterisation σ gradient "
            f"(sigma_grad='reparam'); this learner uses sampling={net.sampling!r}, sigma_grad={net.sigma_grad!r}, "
            f"which the C does not implement, so the device would learn differently"
        )
    if (plan.input_fmt.bits, plan.input_fmt.signed) != (8, True):
        return f"C export needs an int8 input format, got {plan.input_fmt}"
    if (plan.act_fmt.bits, plan.act_fmt.signed) != (16, True):
        return f"C export needs int16 activations, got {plan.act_fmt}"
    bad = [f for f in plan.mu_fmts if (f.bits, f.signed) != (16, True)]
    if bad:
        return f"C export needs int16 μ in every layer, got {bad[0]}"
    if max(plan.layers) > 65535 or plan.layers[-1] > 32767:
        return (
            f"unsupported architecture {plan.layers}: widths above 65535 (or more than 32767 classes) do not "
            "fit the C kernels"
        )
    return None


def fixed_network(obj: Describable | NetworkDescription) -> FixedNetwork:
    """The :class:`FixedNetwork` of a fixed-point learner, pipeline or description; ``ValueError`` otherwise."""
    desc = describe(obj)
    if desc.fixed is None:
        raise ValueError(
            f"C export needs a fixed-point learner (a FixedMESULearner: integer state), got a "
            f"{desc.kind}; convert a float learner with FixedMESULearner.from_float"
        )
    reason = unsupported_reason(desc.fixed)
    if reason:
        raise ValueError(reason)
    return desc.fixed


def _layer_consts(net: FixedNetwork, l: int) -> dict[str, int]:
    """The per-layer shifts and multipliers of the C layer descriptor, range-checked."""
    plan, t = net.plan, net.plan.tables
    F = plan.mu_fmts[l].frac
    pm = t["prior"][l]
    c = {
        "in_frac": plan.in_frac(l),
        "act_shift": plan.in_frac(l) + F - plan.act_fmt.frac,
        "back_shift": F + plan.delta_frac(l) - DH_FRAC if l > 0 else 0,
        "sample_shift": int(t["sample_shift"][l]),
        "mu_lim": int(t["mu_lim"][l]),
        "prior_mant": pm.mant,
        "prior_shift": pm.shift,
        "mu_prior_q": int(t["mu_prior_q"][l]),
        "tau_min": int(t["tau_min"][l]),
        "mu_sh_max": int(np.max(t["mu_sh"][l])),
        "ssh_max": int(np.max(_sigma_step(net, l)[1])),
    }
    for key in ("act_shift", "back_shift"):
        if not -62 <= c[key] <= 62:
            raise ValueError(f"layer {l}: shift {key}={c[key]} is outside [-62, 62]")
    shifts = (("mu_sh", SR_BITS), ("sshq" if net.sampling == "lrt" else "ssh", 0))  # the C holds mu_sh - SR_BITS
    for key, off in shifts:
        vals = np.asarray(t[key][l]) - off
        if vals.min() < -128 or vals.max() > 127:
            raise ValueError(f"layer {l}: the {key} table leaves int8 ({vals.min()}..{vals.max()})")
    if net.sampling == "lrt":
        ss = int(t["sample_shift"][l]) - EPS_FRAC
        c["var_frac"] = 2 * plan.in_frac(l) + 2 * (F + ss) - 14  # v's fractional bits at ta = 0 (lrt._sample_layer)
        c["z_frac"] = plan.in_frac(l) + F
        c["u_frac"] = plan.delta_frac(l) + EPS_FRAC + U_SHIFT  # lrt._u16's fu before − e − sf − eu
        if int(np.max(t["sq16"][l])) >= 2**16 or int(np.min(t["sq16"][l])) < 0:
            raise ValueError(f"layer {l}: the LRT σ² table leaves uint16")
    return c


def _sigma_step(net: FixedNetwork, l: int) -> tuple[np.ndarray, np.ndarray]:
    """(mantissa, shift) of the σ step of layer ``l`` per stored code, the values of emsu_code_t's sigl13 and ssh:
    sigl13/ssh (σ, weight sampling) or, for ``sampling="lrt"``, sq13/sshq (σ², rule.mesu_step_int's ``lrt``)."""
    t = net.plan.tables
    v = np.arange(1 << net.plan.sigma_bits) + net.plan.offsets[l]
    if net.sampling == "lrt":
        return np.asarray(t["sq13"])[v], np.asarray(t["sshq"][l])
    return np.asarray(t["sigl13"])[v], np.asarray(t["ssh"][l])


def _check_tables(plan: FixedPlan) -> None:
    t = plan.tables
    if t["umax"] * 3 // 2 + (1 << U_FRAC) >= 2**31:
        raise ValueError("σ step out of 32-bit range (too many codes per octave)")


def _array(ctype: str, name: str, values: Any, qualifier: str = "static const", per_line: int = 16) -> str:
    vals = [int(v) for v in np.asarray(values).ravel()]
    if ctype == "int64_t":
        items = [f"INT64_C({v})" if v != -(2**63) else "INT64_MIN" for v in vals]
    else:
        items = [str(v) for v in vals]
    rows = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    body = ",\n    ".join(rows) if rows else "0"
    return f"{qualifier} {ctype} {name}[{max(len(vals), 1)}] = {{\n    {body}\n}};\n"


def _fits(values: np.ndarray, bits: int) -> bool:
    return bool(values.size == 0 or (values.min() >= -(2 ** (bits - 1)) and values.max() < 2 ** (bits - 1)))


def _dims(layers: tuple[int, ...], sampling: str = "weights") -> dict[str, int]:
    """Sizes, and the arena as planned from the device code's buffer list (:mod:`.buffers`): offsets and bytes."""
    plan = plan_memory(arena_buffers(layers, "learn", sampling), ARENA_ALIGNMENT)
    out = {
        "MAX_WIDTH": max(layers[1:]),
        "Z_LEN": sum(layers[1:]),
        "ACT_LEN": sum(layers[:-1]),
        "ARENA_BYTES": plan.arena_bytes,
    }
    out.update({f"OFF_{name.upper()}": off for name, off in sorted(plan.offsets().items())})
    return out


def _macros(net: FixedNetwork) -> dict[str, int]:
    """Every numeric macro of the API header, named without the prefix."""
    plan, t = net.plan, net.plan.tables
    n_params = net.layout.n_params
    m = {
        "N_IN": plan.layers[0],
        "N_OUT": plan.layers[-1],
        "N_LAYERS": len(plan.layers) - 1,
        "N_PARAMS": n_params,
        "BIAS": int(plan.bias),
        **_dims(plan.layers, net.sampling),
        "INPUT_FRAC": plan.input_fmt.frac,
        "ACT_FRAC": plan.act_fmt.frac,
        "LOGIT_FRAC": plan.in_frac(len(plan.layers) - 2) + plan.mu_fmts[-1].frac,
        "MU_MIN": -32768,
        "MU_MAX": 32767,
        "ACT_MIN": plan.act_fmt.min_int,
        "ACT_MAX": plan.act_fmt.max_int,
        "CODE_MIN": plan.code_min,
        "CODE_MAX": plan.code_max,
        "STOCHASTIC": int(net.rounding is Rounding.STOCHASTIC),
        "LRT": int(net.sampling == "lrt"),  # the learn path: local reparameterisation (lrt.py) or weight samples
        "UMAX": int(t["umax"]),
        # update_row_lrt's clip tests first against these powers of two (<= UMAX, <= every layer's mu_lim): one
        # compare with encodable immediates; the exact test only beyond them (the same integers)
        "UMAX_FAST": 1 << (int(t["umax"]).bit_length() - 1),
        "MU_LIM_FAST": 1 << (min(int(v) for v in t["mu_lim"]).bit_length() - 1),
        "XSAT": int(t["xsat"]),
        "LP_A": int(t["lp_a"]),
        "LP_Q": int(t["lp_q"]),
        "LP_SH": int(t["lp_sh"]),
        "LOG2E_Q15": int(t["log2e_q15"]),
        "N_COUNTERS": len(COUNTER_NAMES),
        "BLOB_VERSION": BLOB_VERSION,
        "BLOB_HEADER_BYTES": blob_header_bytes(),
        "STATE_BYTES": state_blob_bytes(n_params),
        "STATE_RAM_BYTES": 3 * n_params,
    }
    m["RAM_BYTES"] = m["ARENA_BYTES"] + m["STATE_RAM_BYTES"]
    m.update({f"CNT_{n.upper()}": i for i, n in enumerate(COUNTER_NAMES)})
    # the arithmetic's constants, each defined once in Python (plan, prng, rule, kernels)
    m.update(
        {
            "Z_FRAC": Z_FRAC,
            "P_FRAC": P_FRAC,
            "LOG2E_FRAC": LOG2E_FRAC,
            "EXP2_SHIFT": Z_FRAC - EXP2_INDEX_BITS,
            "SR_BITS": SR_BITS,
            "SR_STREAM": SR_STREAM,
            "GE_SHIFT": GE_SHIFT,
            "U_FRAC": U_FRAC,
            "DMU_SAT": DMU_SAT,
            "ACC_BUDGET": ACC_BUDGET,
            "DELTA_L1_MAX": DELTA_L1_MAX,
            "EPS_SHIFT": EPS_SHIFT,
            "HASH_S1": HASH_SHIFTS[0],
            "HASH_S2": HASH_SHIFTS[1],
            "HASH_S3": HASH_SHIFTS[2],
            "PREDICT_STREAM": PREDICT_STREAM,
            "ENTROPY_FRAC": ENTROPY_FRAC,
            "LOG2_SEG_BITS": LOG2_SEG_BITS,
            "MAX_UNCERTAINTY_SAMPLES": MAX_UNCERTAINTY_SAMPLES,
            "EPS_FRAC": EPS_FRAC,
            "DH_FRAC": DH_FRAC,
            "LRT_STREAM": LRT_STREAM,
            "LRT_U_SHIFT": U_SHIFT,
            "LRT_U_BITS": U_BITS,
            "LRT_U_L1_MAX": (1 << U_BITS) - 1,
            "LRT_SQRT_TOP": SQRT_TOP,
            "LRT_SHIFT_SAT_BITS": SHIFT_SAT_BITS,
            "LRT_VAR_BUDGET": VAR_BUDGET,
        }
    )
    return m


def _wide_macros() -> dict[str, str]:
    """The unsigned and 64-bit constants of the arithmetic, as C literals."""
    return {
        "GAMMA": f"UINT32_C({GAMMA:#x})",
        "HASH_M1": f"UINT32_C({HASH_M1:#x})",
        "HASH_M2": f"UINT32_C({HASH_M2:#x})",
        "SEED_SALT": f"UINT32_C({SEED_SALT:#x})",
        "SOFTMAX_D_MIN": f"INT64_C({SOFTMAX_D_MIN})",
        "ACC_MIN": f"INT64_C({ACC_FMT.min_int})",
        "ACC_MAX": f"INT64_C({ACC_FMT.max_int})",
        "LRT_SHIFT_SAT": f"INT64_C({1 << SHIFT_SAT_BITS})",
    }


def _config_block(net: FixedNetwork, P: str, macros: dict[str, int], sig_type: str, with_state: bool) -> str:
    """The ``/*@CONFIG@*/`` block of the API header."""
    plan = net.plan
    seed, step = (net.seed & (2**64 - 1), net.step & (2**64 - 1)) if with_state else (0, 0)
    lines = [
        f"/* Network {'-'.join(map(str, plan.layers))}, bias {plan.bias}; formats: input "
        f"{plan.input_fmt.qstring} int8, activations {plan.act_fmt.qstring} int16, mu per layer "
        f"{', '.join(f.qstring for f in plan.mu_fmts)} int16, sigma uint8 code (sigma = "
        f"{plan.sigma_max!r} * 2**(-(code + offset[l])/{plan.sigma_per_octave}), offsets "
        f"{list(plan.offsets)}).",
        " * RAM: ARENA_BYTES of scratch (one emsu_arena_t) + STATE_RAM_BYTES of mutable mu and codes. */",
    ]
    lines += [f"#define {P}_{k} {v}" for k, v in macros.items()]
    lines += [f"#define {P}_{k} {v}" for k, v in _wide_macros().items()]
    lines.append(f"#define {P}_SEED UINT64_C({seed})")
    lines.append(f"#define {P}_STEP UINT64_C({step})")
    lines.append(f"#define {P}_CONFIG_HASH UINT32_C({config_hash(net)})")
    low = f"(c) >= {plan.code_min}" if plan.code_min > 0 else ""
    high = f"(c) <= {plan.code_max}" if plan.code_max < 255 else ""
    both = " && ".join(x for x in (low, high) if x) or "1"
    lines.append(f"#define {P}_CODE_IN_RANGE(c) ({both})")
    lims = [int(v) for v in plan.tables["mu_lim"]]
    ends = [sl.stop for sl in net.layout.slices]
    expr = str(lims[-1])
    for lim, end in reversed(list(zip(lims[:-1], ends[:-1]))):
        expr = f"((k) < {end}u ? {lim} : {expr})"
    lines.append(f"#define {P}_MU_LIM_OF(k) ({expr})")
    lines.append(f"typedef {sig_type} emsu_sig_t;")
    return "\n".join(lines)


def _update_tables(plan: FixedPlan) -> str:
    half = gauss_table(GAUSS_INDEX_BITS, EPS_FRAC).astype(np.int64)  # prng._signed_table: |ε|, then −|ε|
    return _array("int16_t", "emsu_gauss", np.concatenate([half, -half]))


def _code_table(net: FixedNetwork, l: int) -> str:
    """The per-stored-code table of layer ``l`` (rule.CodeTables' values): one emsu_code_t per code; with
    ``sampling="lrt"`` also the σ² table sq16 of the variance (uint16 per code)."""
    plan = net.plan
    t = plan.tables
    v = np.arange(1 << plan.sigma_bits) + plan.offsets[l]
    bound = t["ratio_bound"][l] if plan.ratio_max is not None else np.full(v.size, 2**31 - 1)
    if not _fits(np.asarray(bound), 32):
        raise ValueError(f"layer {l}: ratio_max·σ bound does not fit int32; lower ratio_max")
    smant, sshift = _sigma_step(net, l)
    rows = [
        f"{{{int(t['pk'][vv])}, {int(bound[c])}, {int(t['sig16'][l][c])}, {int(t['var14'][vv])}, "
        f"{int(smant[c])}, {int(t['mu_sh'][l][c]) - SR_BITS}, {int(sshift[c])}}}"
        for c, vv in enumerate(v)
    ]
    body = ",\n    ".join(", ".join(rows[i : i + 4]) for i in range(0, len(rows), 4))
    text = f"static const emsu_code_t emsu_tab_l{l}[{len(rows)}] = {{\n    {body}\n}};\n"
    if net.sampling == "lrt":
        text += _array("uint16_t", f"emsu_sq16_l{l}", t["sq16"][l])
    return text


def _layer_tables(net: FixedNetwork, sig_type: str) -> tuple[str, list[str]]:
    """The per-code table of each layer, and the C initialiser of each layer descriptor."""
    plan = net.plan
    text, inits = [], []
    for l, sl in enumerate(net.layout.slices):
        c = _layer_consts(net, l)
        text.append(_code_table(net, l))
        fan_in, fan_out = plan.layers[l], plan.layers[l + 1]
        inits.append(
            f"    {{{fan_in}u, {fan_out}u, {sl.start}u, {sl.stop - sl.start}u, {c['in_frac']}, "
            f"{c['act_shift']}, {c['back_shift']}, {c['sample_shift']}, {c['mu_lim']}, "
            f"{c['prior_mant']}, {c['prior_shift']}, {c['mu_prior_q']}, {c['tau_min']}, "
            f"{c['mu_sh_max']}, {c['ssh_max']},\n"
            f"     EMSU_LT(emsu_tab_l{l})"
            + (
                f", {c['var_frac']}, {c['z_frac']}, {c['u_frac']}, EMSU_LT(emsu_sq16_l{l})"
                if net.sampling == "lrt"
                else ""
            )
            + "}"
        )
    return "".join(text), inits


def _vector_tables(net: FixedNetwork) -> str:
    """The host vector loops' int32 copies of the tables (template_core.c, EMSU_VLOOPS): the Gaussian table and
    each layer's per-code table by field, 256 codes (zero beyond the table); with ``sampling="lrt"`` also the σ²
    table sq16."""
    plan, t = net.plan, net.plan.tables
    half = gauss_table(GAUSS_INDEX_BITS, EPS_FRAC).astype(np.int64)
    layers = []
    for l in range(len(plan.mu_fmts)):
        v = np.arange(1 << plan.sigma_bits) + plan.offsets[l]
        n = v.size
        bound = t["ratio_bound"][l] if plan.ratio_max is not None else np.full(n, 2**31 - 1)
        smant, sshift = _sigma_step(net, l)
        fields = [
            np.asarray(t["pk"])[v],
            np.asarray(bound)[:n],
            np.asarray(t["sig16"][l])[:n],
            np.asarray(t["var14"])[v],
            smant,
            np.asarray(t["mu_sh"][l])[:n] - SR_BITS,
            sshift[:n],
        ]
        if net.sampling == "lrt":  # emsu_vtab_t's sq16, mq and sq (an LRT build, lrt.py)
            lo = [fields[3], smant]  # var14, sq13: the low halves, read with a mask
            if any(int(np.min(f)) < 0 or int(np.max(f)) >= 1 << VPACK_SHIFT for f in lo):
                raise ValueError(f"layer {l}: var14 / sq13 out of the packed tables' range")
            fields += [
                np.asarray(t["sq16"][l])[:n],
                (fields[5] << VPACK_SHIFT) | fields[3],  # mq: mu_p in the high half, var14 in the low
                (fields[6] << VPACK_SHIFT) | smant,  # sq: sshq in the high half, sq13 in the low
            ]
        arrays = ["{" + ", ".join(str(int(x)) for x in np.pad(f.astype(np.int64), (0, 256 - n))) + "}" for f in fields]
        minima = f"{int(np.min(fields[5]))}, {int(np.min(fields[6]))}"  # mu_p_min, ssh_min (EMSU_VFAST's test)
        body = ",\n     ".join([*arrays[:7], minima, *arrays[7:]])  # emsu_vtab_t's order
        layers.append(f"    {{{body}}}")
    return "".join(
        [
            "#if EMSU_VLOOPS\n",
            f"#define EMSU_VPACK_SHIFT {VPACK_SHIFT} /* emsu_vtab_t's packed fields: high << this | low */\n"
            if net.sampling == "lrt"
            else "",
            _array("int32_t", "emsu_gauss32", np.concatenate([half, -half])),
            "static const emsu_vtab_t emsu_vtab[EMSU_N_LAYERS] = {\n",
            ",\n".join(layers),
            "\n};\n#endif\n",
        ]
    )


def _model_header(net: FixedNetwork, sig_type: str, with_state: bool, host_vector: bool = False) -> str:
    plan = net.plan
    layer_text, inits = _layer_tables(net, sig_type)
    z_off = np.cumsum([0] + list(plan.layers[1:-1])).tolist()
    act_off = np.cumsum([0] + list(plan.layers[:-2])).tolist()
    counters = [net.counters.get(n, 0) if with_state else 0 for n in COUNTER_NAMES]
    mu, code = (net.mu, net.code) if with_state else ([], [])
    return "".join(
        [
            "/* emsu_model.h -- tables and exported state of one network.\n"
            " * Included once, by emsu.c. */\n#ifdef EMSU_INFERENCE_ONLY\n#define EMSU_LT(x) NULL\n#else\n"
            "#define EMSU_LT(x) x\n",
            _update_tables(plan),
            layer_text,
            _array("uint32_t", "emsu_counters0", counters),
            _array("int32_t", "emsu_log2_q16", log2_table()),
            _vector_tables(net) if host_vector else "",
            "#endif\n",
            _array("int32_t", "emsu_exp2_q15", plan.tables["exp2_q15"]),
            "static const emsu_layer_t emsu_layers[EMSU_N_LAYERS] = {\n",
            ",\n".join(inits),
            "\n};\n",
            "#define EMSU_LAYERS_UP(F) ",
            " ".join(f"F({l})" for l in range(len(inits))),
            "\n",
            "#define EMSU_LAYERS_DOWN(F) ",
            " ".join(f"F({l})" for l in reversed(range(len(inits)))),
            "\n",
            _array("uint32_t", "emsu_z_off", z_off),
            _array("uint32_t", "emsu_act_off", act_off),
            _state_array("int16_t", "emsu_mu", mu, "EMSU_STATE_CONST"),
            "#ifndef EMSU_INFERENCE_ONLY\n",
            _state_array("uint8_t", "emsu_code", code, ""),
            "#endif\n",
        ]
    )


def _state_array(ctype: str, name: str, values: Any, qualifier: str) -> str:
    """The exported state, or (``values`` empty: a host build whose caller owns the state) zeros."""
    if len(values):
        return _array(ctype, name, values, qualifier)
    return f"{qualifier} {ctype} {name}[EMSU_N_PARAMS] = {{0}};\n".lstrip()


def _template(filename: str) -> str:
    return (resources.files("edge_mesu.fixed") / "csrc" / filename).read_text(encoding="utf-8")


def _rename(text: str, name: str, source: str) -> str:
    """A generated file: the template's identifier prefix ``emsu_`` / ``EMSU_`` replaced by the network's name,
    under a first line that says where it came from."""
    text = re.sub(r"\bemsu(_\w*|\.h|\.c)", lambda m: name + m.group(1), text)
    text = re.sub(r"\bEMSU(_\w*)", lambda m: name.upper() + m.group(1), text)
    return f"/* Generated by edge-mesu from {source}: do not edit (edit the template, regenerate). */\n{text}"


def generate_c(
    obj: Describable | NetworkDescription, name: str = "mesu_net", with_state: bool = True, host_vector: bool = False
) -> CSource:
    """The C sources of a fixed-point learner (or its pipeline, or description); nothing is written.

    Raises ``ValueError`` for a float learner or a configuration the C port does not support.
    ``with_state=False`` leaves the exported μ / code arrays zero and seed / step / counters 0: the source
    then depends on the network's configuration only (the host backend passes its own state).
    ``host_vector=True`` (the host backend) defines ``NAME_HOST_VECTOR`` and adds the int32 table copies of the
    host vector loops, which a compiler targeting AVX2 then uses (same integers; ``csrc/template_core.c``).
    """
    net = fixed_network(obj)
    _check_tables(net.plan)
    name = sanitize_name(name)
    sig_max = max(int(sigma_sample_table(net.plan, l).max()) for l in range(len(net.plan.mu_fmts)))
    sig_type = "int32_t" if sig_max < 2**31 else "int64_t"
    macros = _macros(net)
    config = _config_block(net, "EMSU", macros, sig_type, with_state)
    if host_vector:
        config += "\n#define EMSU_HOST_VECTOR 1 /* the host backend: vector loops where the target has AVX2 */"
    header = _template("template_api.h").replace("/*@CONFIG@*/", config)
    model = _model_header(net, sig_type, with_state, host_vector)
    files = {
        f"{name}.h": _rename(header, name, "edge_mesu/fixed/csrc/template_api.h"),
        f"{name}_model.h": _rename(model, name, "the network's plan and state (edge_mesu/fixed/cgen.py)"),
        f"{name}.c": _rename(
            _template("template_core.c") + "\n" + _template("template_uncertainty.c"),
            name,
            "edge_mesu/fixed/csrc/template_core.c and template_uncertainty.c",
        ),
    }
    return CSource(name, files, {f"{name.upper()}_{k}": v for k, v in macros.items()})


def host_glue(name: str) -> tuple[str, str]:
    """(file name, text) of the host backend's glue for a library generated as ``name``: float rows quantised
    to the input format and the per-call entry points of :mod:`.cbackend` (``csrc/template_host.c``; never
    part of a device library)."""
    name = sanitize_name(name)
    return f"{name}_host.c", _rename(_template("template_host.c"), name, "edge_mesu/fixed/csrc/template_host.c")
