"""The learner's operation list as data: what one predict or one learn step costs, op by op.

``firmware_sim`` multiplies these counts by a device's cycle table; nothing here knows about devices. The
counts describe the kernels a device would run (the C port), not what numpy does.

Kinds
-----
``mac8x8``, ``mac8x16``, ``mac16x16``
    Dot-product inner loops over stored operands (activation bits × weight bits), operand loads included.
``fmac``
    The float32 dot-product inner loop (operand loads included).
``mul`` / ``fmul``
    One multiply(-accumulate) on values already in registers (element-wise work; loads counted apart).
``alu`` / ``falu``
    One add, shift, compare or saturate (integer / float).
``alu_update_lrt``
    One ``alu`` of the fixed-point local-reparameterisation update (:data:`FIXED_LRT_UPDATE_ALU` per
    parameter), priced apart because its calibrated count is the Cortex-M4's: a device profile's
    ``alu_update_lrt`` cost (default: its ``alu`` cost) carries the core's own figure.
``prng``
    One 32-bit draw of the counter-based generator (hash of seed, step, index).
``lut``
    One table lookup (index arithmetic + load).
``load_store``
    One load or store of learning state outside the dot-product loops.
``exp`` / ``fexp``, ``div`` / ``fdiv``
    Exponential (fixed: LUT + interpolation; float: ``expf``) and division.
``call``
    One kernel call (call, prologue, epilogue).

Counts of a learn step (S = ``train_samples``, P_i the parameters of layer i, bias included)
--------------------------------------------------------------------------------------------
Per train sample, forward, per layer: P_i ``prng`` (ε), P_i ``lut`` (uniform → N(0,1) by inverse-CDF
table), 2·P_i ``load_store`` (μ, σ code), P_i ``lut`` (σ from its code), P_i ``mul`` + 2·P_i ``alu``
(w = μ + σ·ε, shift, saturate), one store per weight into a row buffer, then the dot product (fan_in·fan_out
MACs, ``mac8x16`` for int8 inputs/activations × int16 sampled weights, ``mac16x16`` when both are
16-bit) and requantisation (``mul`` + 2 ``alu`` per output: shift, clamp/ReLU). Softmax: per class
3 ``alu`` (max, sum, p − onehot), 1 ``exp``, 1 ``div``.

Backward, fused with the MESU update when S = 1 (nothing sampled is stored: ε is regenerated from the
counter, which is why the generator is counter-based), per layer from the last: P_i ``prng`` + P_i ``lut``
(ε again), 2·P_i ``load_store`` (μ, σ), 2·P_i ``lut`` (σ, σ²), for hidden-δ layers 2·fan_in·fan_out ``mul``
(w again, δ_prev += w·δ) and 3 ``alu`` per input (ReLU mask, shift, saturate), 2·P_i ``mul`` (g = a·δ,
g_σ = g·ε), then the MESU update: 6·P_i ``mul`` (prior terms of μ and σ, the σ² products, the step scale,
Δσ → Δcode through 1/σ), P_i ``lut`` (1/σ) and :data:`FIXED_UPDATE_ALU`·P_i ``alu`` (the update runs
in int32, calibrated against the generated C on an emulated Cortex-M4); stochastic rounding
of μ and σ takes its bits from the regenerated draw (so two draws per parameter per step in all, as the
generated C does; format 2 adds one draw per parameter for the μ rounding) and 4·P_i ``alu``; 2·P_i
``load_store`` (store μ, σ). The float learner: 6·P_i ``alu``.

With S > 1 the gradients are summed over samples first (2 ``alu`` + 4 ``load_store`` per parameter and
sample on int32 accumulators), then one update pass reads them back (2 ``load_store`` per parameter).
The float learner runs the same schedule with float kinds, stores σ (no σ LUT; σ² is one ``fmul``) and rounds
to nearest (no stochastic-rounding draws).

Example
-------
>>> from edge_mesu import MESULearner
>>> d = MESULearner((4, 3, 2), bias=False).describe()
>>> sum(op.count for op in operation_list(d, "infer") if op.kind == "mac8x8")
18
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "Arithmetic",
    "CostedNetwork",
    "FIXED_ARITHMETIC",
    "FLOAT_ARITHMETIC",
    "KINDS",
    "MODES",
    "Op",
    "FIXED_LRT_UPDATE_ALU",
    "FIXED_UPDATE_ALU",
    "operation_list",
    "total_by_kind",
]

KINDS = (
    "mac8x8",
    "mac8x16",
    "mac16x16",
    "fmac",
    "mul",
    "fmul",
    "alu",
    "alu_update_lrt",
    "falu",
    "prng",
    "lut",
    "load_store",
    "exp",
    "fexp",
    "div",
    "fdiv",
    "call",
)
MODES = ("infer", "predict", "learn", "uncertainty")


@dataclass(frozen=True)
class Arithmetic:
    """Bit widths of a learner's device arithmetic (what the cost model and memory map need).

    ``is_float``: float32 everywhere (the other fields then say 32).
    """

    is_float: bool
    input_bits: int
    act_bits: int
    weight_bits: int
    mu_bits: int
    sigma_bits: int
    grad_bits: int
    acc_bits: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "float": self.is_float,
            "input_bits": self.input_bits,
            "act_bits": self.act_bits,
            "weight_bits": self.weight_bits,
            "mu_bits": self.mu_bits,
            "sigma_bits": self.sigma_bits,
            "grad_bits": self.grad_bits,
            "acc_bits": self.acc_bits,
        }


FLOAT_ARITHMETIC = Arithmetic(True, 32, 32, 32, 32, 32, 32, 32)
#: what :func:`firmware_sim.assume_fixed_point` costs a float learner as: int16 μ, uint8 σ code, int8 data
FIXED_ARITHMETIC = Arithmetic(False, 8, 8, 16, 16, 8, 16, 32)


class CostedNetwork(Protocol):
    """What the operation list reads of a network (a :class:`~edge_mesu.interface.NetworkDescription`)."""

    @property
    def layers(self) -> tuple[int, ...]: ...

    @property
    def bias(self) -> bool: ...

    @property
    def train_samples(self) -> int: ...

    @property
    def predict_samples(self) -> int: ...

    @property
    def arithmetic(self) -> Arithmetic: ...

    @property
    def uncertainty_samples(self) -> int: ...

    @property
    def sampling(self) -> str: ...


#: 32-bit ALU operations per parameter of the fixed-point MESU update as the generated C runs it
#: (edge_mesu/fixed/csrc/template_core.c, state format 2: int32 bracket and prior pull, clips flagged per
#: parameter and counted per row, stochastic roundings with variable 32-bit shifts, the σ-code step from
#: per-code tables). Calibrated against the emulator: the 784-50-10 learn_one of the generated C on an
#: emulated Cortex-M4 (firmware_sim/calibration.py), with prng_draw 12 cycles: model/emulator 1.03 there,
#: 1.00 on the 96-32-5 check network. 90 before the update loop was reworked (issue 18: 134.2 -> 121.9 learn
#: instructions per parameter). Format 1 (int64 update, SplitMix64 at 39 cycles a draw): 232. Kept at 73 when
#: the hash multipliers stayed in registers (121.9 -> 119.8): model/emulator 1.03 / 1.01, within the calibration.
FIXED_UPDATE_ALU = 73

#: The same for the local-reparameterisation update (``sampling="lrt"``: the σ step from h16 = a²·u per
#: parameter and the σ² table, ``update_row_lrt`` in template_core.c), calibrated alike on its emulated
#: 784-50-10 learn_one (102.9 instructions per parameter): model/emulator 1.00 there, 0.91 on 96-32-5 (whose
#: per-output square roots and divisions weigh more than the model's one ``div`` each). 68 before the M4
#: profiles' int16 MAC was recalibrated on the four-row predict (6.4 -> 4.5 cycles); 78 before update_row_lrt's
#: clips took the M4's cheap power-of-two tests first (109.9 instructions per parameter). Costed as kind
#: ``alu_update_lrt``: the count is the M4's, and a core whose LRT update is relatively cheaper sets its own
#: cycles per op in its profile (rp2040: 1.9; its ``alu``, 2.8 then, is 2.0 since the weight-sampling loops
#: keep the hash multipliers in registers, see firmware_sim/devices/rp2040.toml).
FIXED_LRT_UPDATE_ALU = 72


@dataclass(frozen=True)
class Op:
    """One entry of an operation list: ``count`` operations of ``kind`` (see the module docstring)."""

    name: str
    kind: str
    count: int
    note: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Op {self.name!r}: unknown kind {self.kind!r}; known kinds: {', '.join(KINDS)}")
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 0:
            raise ValueError(f"Op {self.name!r}: count must be an integer >= 0, got {self.count!r}")


def _layer_shapes(desc: CostedNetwork) -> list[tuple[int, int, int]]:
    """``(fan_in, fan_out, n_params)`` per layer."""
    layers = tuple(int(v) for v in desc.layers)
    return [(a, b, a * b + (b if desc.bias else 0)) for a, b in zip(layers[:-1], layers[1:], strict=True)]


class _Ops:
    """Collects ops, mapping abstract kinds to float kinds for a float learner and dropping zero counts."""

    _FLOAT = {
        "mac8x8": "fmac",
        "mac8x16": "fmac",
        "mac16x16": "fmac",
        "mul": "fmul",
        "alu": "falu",
        "alu_update_lrt": "falu",
        "exp": "fexp",
        "div": "fdiv",
    }

    def __init__(self, is_float: bool, repeat: int = 1) -> None:
        self.is_float = is_float
        self.repeat = repeat
        self.ops: list[Op] = []

    def add(self, name: str, kind: str, count: int, note: str = "") -> None:
        if self.is_float:
            kind = self._FLOAT.get(kind, kind)
        if count > 0:
            self.ops.append(Op(name, kind, int(count) * self.repeat, note))


def _sample_weights(o: _Ops, i: int, p: int, n_w: int) -> None:
    """Draw ε and form w = μ + σ·ε for one layer (stored into the row buffer feeding the dot product)."""
    o.add(f"fc{i}.eps", "prng", p, "one counter-based draw per parameter")
    o.add(f"fc{i}.eps_gauss", "lut", p, "uniform -> N(0,1) by inverse-CDF table")
    o.add(f"fc{i}.state_load", "load_store", 2 * p, "load mu and sigma")
    if not o.is_float:
        o.add(f"fc{i}.sigma_lut", "lut", p, "sigma from its log-domain code")
    o.add(f"fc{i}.sample", "mul", p, "w = mu + sigma*eps")
    o.add(f"fc{i}.sample_round", "alu", 2 * p, "shift and saturate to the weight format")
    o.add(f"fc{i}.row_store", "load_store", n_w, "sampled weight into the row buffer")


def _mac_kinds(arith: Arithmetic, n_layers: int) -> list[str]:
    """Dot-product kind per layer: layer 0 multiplies inputs, the others activations, by weights."""

    def kind(a_bits: int) -> str:
        narrow = sum(int(b) <= 8 for b in (a_bits, arith.weight_bits))
        return ("mac16x16", "mac8x16", "mac8x8")[narrow]

    return [kind(arith.input_bits)] + [kind(arith.act_bits)] * (n_layers - 1)


def _forward(o: _Ops, shapes: list, macs: list[str], sampled: bool) -> None:
    last = len(shapes) - 1
    for i, (fan_in, fan_out, p) in enumerate(shapes):
        o.add(f"fc{i}.call", "call", 1)
        if sampled:
            _sample_weights(o, i, p, fan_in * fan_out)
        o.add(f"fc{i}.forward", macs[i], fan_in * fan_out, "dot products")
        o.add(f"fc{i}.bias", "alu", p - fan_in * fan_out, "bias add")
        if i < last and not o.is_float:
            o.add(f"fc{i}.requant", "mul", fan_out, "requantise accumulator")
        o.add(f"fc{i}.activation", "alu", 2 * fan_out if i < last else 0, "shift/clamp, ReLU")


def _softmax(o: _Ops, n_classes: int, grad: bool) -> None:
    o.add("softmax.call", "call", 1)
    o.add("softmax.max_sum", "alu", 2 * n_classes, "max and sum over classes")
    o.add("softmax.exp", "exp", n_classes, "exp per class")
    o.add("softmax.div", "div", n_classes, "normalise per class")
    if grad:
        o.add("softmax.grad", "alu", n_classes, "delta = p - onehot")


def _backward_layer(o: _Ops, i: int, fan_in: int, fan_out: int, p: int) -> None:
    """Gradients of one layer (ε regenerated, w recomputed for the hidden δ)."""
    o.add(f"fc{i}.bwd_call", "call", 1)
    o.add(f"fc{i}.eps_regen", "prng", p, "regenerate eps from the counter (nothing stored)")
    o.add(f"fc{i}.eps_regen_gauss", "lut", p, "inverse-CDF table")
    o.add(f"fc{i}.state_load_bwd", "load_store", 2 * p, "load mu and sigma")
    if i > 0:
        o.add(f"fc{i}.backward_delta", "mul", 2 * fan_in * fan_out, "w again, delta_prev += w*delta")
        o.add(f"fc{i}.relu_mask", "alu", 3 * fan_in, "ReLU mask, shift, saturate")
    o.add(f"fc{i}.grad", "mul", 2 * p, "g = a*delta (outer product), g_sigma = g*eps")


def _mesu_update(o: _Ops, i: int, p: int, lrt: bool = False) -> None:
    """The update of one layer; ``lrt``: local reparameterisation's (σ² mantissas instead of σ and 1/σ, both
    rounding words drawn here, its own calibrated ALU count)."""
    if o.is_float:
        o.add(f"fc{i}.mesu_update", "mul", 7 * p, "sigma^2, prior terms, steps (eqs. 1-2)")
        o.add(f"fc{i}.mesu_update_alu", "alu", 6 * p, "adds, shifts, clip, saturate")
    elif lrt:
        o.add(f"fc{i}.sigma_lut_bwd", "lut", 2 * p, "sigma^2 mantissas from the code")
        o.add(f"fc{i}.mesu_update", "mul", 6 * p, "prior terms, sigma^2 products, step scale, dcode")
        o.add(f"fc{i}.sr_draws", "prng", 2 * p, "draws A and B: the rounding bits of sigma's code and mu")
        o.add(
            f"fc{i}.mesu_update_alu",
            "alu_update_lrt",
            FIXED_LRT_UPDATE_ALU * p,
            "int32 update (calibrated against the emulator, per core)",
        )
        o.add(f"fc{i}.stochastic_round_alu", "alu", 4 * p, "compare and add, twice")
    else:  # format 2: the σ rounding bits come from the draw regenerated for ε, μ's from a second draw
        o.add(f"fc{i}.sigma_lut_bwd", "lut", 2 * p, "sigma and sigma^2 from the code")
        o.add(f"fc{i}.mesu_update", "mul", 6 * p, "prior terms, sigma^2 products, step scale, dcode")
        o.add(f"fc{i}.inv_sigma_lut", "lut", p, "1/sigma for the log-domain sigma code step")
        o.add(f"fc{i}.sr_draw", "prng", p, "draw B: the rounding bits of mu")
        o.add(f"fc{i}.mesu_update_alu", "alu", FIXED_UPDATE_ALU * p, "int32 update (calibrated against the emulator)")
        o.add(f"fc{i}.stochastic_round_alu", "alu", 4 * p, "compare and add, twice")
    o.add(f"fc{i}.state_store", "load_store", 2 * p, "store mu and sigma")


def _forward_lrt(o: _Ops, shapes: list, macs: list[str]) -> None:
    """The forward pass of local reparameterisation: m = a·μ and s² = a²·σ² in one pass over each row, then
    per output one draw, √s² and b = m + s·ε (``dense_lrt`` in template_core.c)."""
    last = len(shapes) - 1
    for i, (fan_in, fan_out, p) in enumerate(shapes):
        o.add(f"fc{i}.call", "call", 1)
        o.add(f"fc{i}.act_square", "mul", fan_in, "a² once per input (rounded to 15 bits)")
        o.add(f"fc{i}.state_load", "load_store", p if o.is_float else 0, "sigma for the variance")
        o.add(f"fc{i}.sigma2", "mul" if o.is_float else "lut", p, "σ² (fixed: from its code)")
        o.add(f"fc{i}.forward_mean", macs[i], fan_in * fan_out, "m = a·μ")
        o.add(f"fc{i}.forward_var", "mac16x16", fan_in * fan_out, "s² = a²·σ²: the second dot product")
        o.add(f"fc{i}.bias", "alu", 2 * (p - fan_in * fan_out), "bias into m and s²")
        o.add(f"fc{i}.out_eps", "prng", fan_out, "one draw per output")
        o.add(f"fc{i}.out_eps_gauss", "lut", fan_out, "inverse-CDF table")
        o.add(f"fc{i}.sqrt", "div", fan_out, "s = √s² (counted as one division)")
        o.add(f"fc{i}.preact", "mul", fan_out, "b = m + s·ε")
        o.add(f"fc{i}.preact_round", "alu", 2 * fan_out, "shift and saturate")
        if i < last and not o.is_float:
            o.add(f"fc{i}.requant", "mul", fan_out, "requantise accumulator")
        o.add(f"fc{i}.activation", "alu", 2 * fan_out if i < last else 0, "shift/clamp, ReLU")


def _backward_layer_lrt(o: _Ops, i: int, fan_in: int, fan_out: int, p: int) -> None:
    """Gradients of one layer under local reparameterisation: u_j = δ_j·ε_j/s_j per output, the hidden δ
    through μ and σ² (two products per weight), g = a·δ and h = a²·u per parameter."""
    o.add(f"fc{i}.bwd_call", "call", 1)
    o.add(f"fc{i}.u", "div", fan_out, "u_j = δ_j·ε_j / s_j")
    o.add(f"fc{i}.u_norm", "alu", 3 * fan_out, "block-normalise u")
    o.add(f"fc{i}.state_load_bwd", "load_store", 2 * p, "load mu and sigma")
    if i > 0:
        o.add(f"fc{i}.backward_delta", "mul", 2 * fan_in * fan_out, "delta_prev += mu*delta + sigma²*u")
        o.add(f"fc{i}.backward_delta_a", "mul", fan_in, "× a_i of the variance path")
        o.add(f"fc{i}.relu_mask", "alu", 3 * fan_in, "ReLU mask, shift, saturate")
    o.add(f"fc{i}.grad", "mul", 2 * p, "g = a*delta, h = a²*u (outer products)")


def _learn_ops(desc: CostedNetwork, shapes: list, arith: Arithmetic) -> list[Op]:
    """One learn step: per sample the forward pass, softmax and each layer's gradients (weight sampling, or
    local reparameterisation with ``desc.sampling == "lrt"``), then one update pass; with S > 1 samples the
    gradients (g, and h of LRT) are summed on int32 accumulators first and read back by the update."""
    lrt = getattr(desc, "sampling", "weights") == "lrt"
    grads = 2 if lrt else 1  # gradient arrays per parameter: g (and LRT's h)
    is_float = arith.is_float
    samples = desc.train_samples
    per_sample = _Ops(is_float, repeat=samples)
    per_sample.add("input.quantise", "alu", 0 if is_float else 2 * shapes[0][0], "scale and saturate input")
    if lrt:
        _forward_lrt(per_sample, shapes, _mac_kinds(arith, len(shapes)))
    else:
        _forward(per_sample, shapes, _mac_kinds(arith, len(shapes)), sampled=True)
    _softmax(per_sample, shapes[-1][1], grad=True)
    for i in reversed(range(len(shapes))):
        fan_in, fan_out, p = shapes[i]
        (_backward_layer_lrt if lrt else _backward_layer)(per_sample, i, fan_in, fan_out, p)
        if samples > 1:
            per_sample.add(f"fc{i}.grad_accumulate", "alu", 2 * grads * p, "sum gradients over samples")
            per_sample.add(f"fc{i}.grad_accumulate_ls", "load_store", 4 * grads * p, "load/store int32 accumulators")
    update = _Ops(is_float)
    for i in reversed(range(len(shapes))):
        p = shapes[i][2]
        if samples > 1:
            update.add(f"fc{i}.update_call", "call", 1)
            update.add(f"fc{i}.state_load_upd", "load_store", 2 * p, "load mu and sigma")
            update.add(f"fc{i}.grad_load", "load_store", 2 * grads * p, "read the summed gradients")
        _mesu_update(update, i, p, lrt)
    return per_sample.ops + update.ops


def _uncertainty_ops(shapes: list, arith: Arithmetic, samples: int) -> list[Op]:
    """k sampled forward passes (the learn step's sampling) and the entropies of each and of their sum."""
    if samples <= 0:
        return []
    n_classes = shapes[-1][1]
    o = _Ops(arith.is_float, repeat=samples)
    _forward(o, shapes, _mac_kinds(arith, len(shapes)), sampled=True)
    _softmax(o, n_classes, grad=False)
    o.add("entropy.log2", "lut", n_classes, "log2 by leading zeros and an interpolated table")
    o.add("entropy.terms", "mul", 2 * n_classes, "p log2 p and the interpolation")
    o.add("entropy.div", "div", 1, "normalise by the sample's total")
    tail = _Ops(arith.is_float)
    tail.add("mi.sum", "alu", 2 * samples * n_classes, "sum over samples, compare with the first")
    tail.add("mi.entropy", "mul", 2 * n_classes, "entropy of the sum")
    tail.add("mi.mean", "div", n_classes + 2, "mean probabilities, aleatoric mean")
    return o.ops + tail.ops


def operation_list(desc: CostedNetwork, mode: str) -> list[Op]:
    """The operations of one step of the described network in ``mode``.

    Parameters
    ----------
    desc : a :class:`~edge_mesu.interface.NetworkDescription` (``learner.describe()``).
    mode : ``"infer"`` (int8 mean weights, as exported), ``"predict"`` (the learner's own state, with
        ``predict_samples`` weight samples, 0 = μ), ``"learn"`` (one learn step) or ``"uncertainty"`` (the
        mutual information of one input over ``uncertainty_samples`` weight samples: that many sampled
        forward passes and the integer entropies of :mod:`edge_mesu.fixed.entropy`; empty when 0).

    Returns
    -------
    list of :class:`Op`, in execution order, zero counts left out.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    shapes = _layer_shapes(desc)
    arith = desc.arithmetic
    is_float = arith.is_float
    if mode == "learn":
        return _learn_ops(desc, shapes, arith)
    if mode == "uncertainty":
        return _uncertainty_ops(shapes, arith, int(desc.uncertainty_samples))
    if mode == "infer":  # the exported int8 network, whatever the learner's own arithmetic
        o = _Ops(False)
        o.add("input.quantise", "alu", 2 * shapes[0][0], "scale and saturate input")
        _forward(o, shapes, ["mac8x8"] * len(shapes), sampled=False)
        _softmax(o, shapes[-1][1], grad=False)
        return o.ops
    samples = desc.predict_samples
    o = _Ops(is_float, repeat=max(samples, 1))
    o.add("input.quantise", "alu", 0 if is_float else 2 * shapes[0][0], "scale and saturate input")
    _forward(o, shapes, _mac_kinds(arith, len(shapes)), sampled=samples > 0)
    _softmax(o, shapes[-1][1], grad=False)
    tail = _Ops(is_float)
    tail.add("predict.average", "alu", shapes[-1][1] * samples if samples > 1 else 0, "mean over samples")
    tail.add("predict.argmax", "alu", shapes[-1][1], "argmax")
    return o.ops + tail.ops


def total_by_kind(ops: list[Op]) -> dict[str, int]:
    """Sum the counts of ``ops`` per kind."""
    totals: dict[str, int] = {}
    for op in ops:
        totals[op.kind] = totals.get(op.kind, 0) + op.count
    return totals
