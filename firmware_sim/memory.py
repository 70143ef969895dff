"""Memory map of a learner on a device: flash and RAM, by section, with a planned activation arena.

Modes
-----
``"infer"``: the exported mean network. Flash holds code, int8 weights (+ int32 biases), per-channel
requantisation parameters (int32 multiplier + int32 shift, as TFLite Micro) and the softmax exp table; RAM
holds the activation arena (int8 activations, int32 accumulators) and the stack.

``"learn"``: the learner itself. RAM holds the learning state (``learner.state_nbytes()``: μ and σ are
rewritten every step), the arena of the larger of the predict and learn passes, the PRNG state (16 bytes:
64-bit key and counter), the stack, gradient accumulators when ``train_samples > 1``
(2 × int32 per parameter) and the front end's RAM when one is attached. Flash holds code, the lookup tables
and two slots for the persisted state image (A/B, so a power cut during a checkpoint keeps the old one),
each rounded up to the erase unit.

Code-size estimate
------------------
A sum of per-kernel sizes in bytes of Thumb-2 compiled with ``-Os`` (estimates, see ``CODE_BYTES``), times
the device's ``code_density``. Not measured on compiled code yet: the C port will replace it.

Example
-------
>>> from types import SimpleNamespace
>>> from firmware_sim.device import load_device
>>> toy = SimpleNamespace(layers=(4, 3, 2), bias=False, train_samples=1, predict_samples=0)
>>> m = memory_map(toy, load_device("stm32l4"), "infer")
>>> m.flash["weights"], m.flash["quant_params"]
(18, 40)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from edge_mesu.ops import arithmetic_of

from .device import Device
from .planner import Buffer, MemoryPlan, plan_memory

__all__ = ["CODE_BYTES", "PRNG_STATE_BYTES", "MemoryMap", "code_size", "memory_map", "pass_buffers",
           "table_bytes"]

CODE_BYTES = {  # estimate: Thumb-2, -Os, per kernel
    "runtime_learn": 1024,   # init, step loop, state checkpoint glue
    "runtime_infer": 512,    # init and predict loop
    "fc_forward": 768,       # dot-product kernel (unrolled, SIMD variant)
    "sampler": 320,          # counter-based PRNG, inverse-CDF Gaussian, w = mu + sigma*eps
    "fc_backward_update": 1536,  # fused backward + MESU update + stochastic rounding
    "softmax": 384,          # max, exp table, normalise, argmax
    "float_support": 2048,   # expf and float helpers (float learner only)
    "per_layer": 64,         # call site and layer descriptor
}
PRNG_STATE_BYTES = 16
ARENA_ALIGNMENT = 4


def _nbytes(bits: int) -> int:
    return max(1, math.ceil(int(bits) / 8))


def _formats(learner: Any, pass_name: str) -> dict[str, int]:
    """Bytes per element of input, activation, accumulator, gradient and sampled weight."""
    if pass_name == "infer":
        return {"input": 1, "act": 1, "acc": 4, "grad": 4, "weight": 1}
    a = arithmetic_of(learner)
    return {"input": _nbytes(a["input_bits"]), "act": _nbytes(a["act_bits"]), "acc": _nbytes(a["acc_bits"]),
            "grad": _nbytes(a["grad_bits"]), "weight": _nbytes(a["weight_bits"])}


def pass_buffers(learner: Any, pass_name: str) -> list[Buffer]:
    """The arena buffers of one pass (``"infer"``, ``"predict"`` or ``"learn"``) with their lifetimes.

    Steps: 0 input ready, ``1 + i`` forward of layer i, ``L + 1`` softmax, ``L + 2 + (L - 1 - i)`` backward
    of layer i (learn only). ``h{i}`` is the input of layer i (i >= 1); ``delta{i}`` the gradient on it.
    """
    if pass_name not in ("infer", "predict", "learn"):
        raise ValueError(f"pass must be 'infer', 'predict' or 'learn', got {pass_name!r}")
    sizes = [int(v) for v in learner.layers]
    n_layers = len(sizes) - 1
    f = _formats(learner, pass_name)
    learn = pass_name == "learn"
    sampled = learn or (pass_name == "predict" and int(getattr(learner, "predict_samples", 0)) > 0)
    fwd = [1 + i for i in range(n_layers)]
    soft = n_layers + 1
    bwd = [n_layers + 2 + (n_layers - 1 - i) for i in range(n_layers)]
    bufs = [Buffer("input", sizes[0] * f["input"], 0, bwd[0] if learn else fwd[0])]
    for i in range(n_layers - 1):
        bufs.append(Buffer(f"fc{i}.acc", sizes[i + 1] * f["acc"], fwd[i], fwd[i]))
        bufs.append(Buffer(f"h{i + 1}", sizes[i + 1] * f["act"], fwd[i], bwd[i + 1] if learn else fwd[i + 1]))
    bufs.append(Buffer("logits", sizes[-1] * f["acc"], fwd[-1], soft))
    if sampled:
        bufs.append(Buffer("weight_row", max(sizes[:-1]) * f["weight"], fwd[0], fwd[-1]))
    if pass_name == "predict" and int(getattr(learner, "predict_samples", 0)) > 1:
        bufs.append(Buffer("proba_sum", sizes[-1] * f["acc"], fwd[0], soft))
    if learn:
        bufs.append(Buffer("delta_out", sizes[-1] * f["grad"], soft, bwd[-1]))
        for i in range(1, n_layers):
            bufs.append(Buffer(f"delta{i}", sizes[i] * f["acc"], bwd[i], bwd[i - 1]))
    return bufs


def code_size(learner: Any, mode: str, device: Device) -> int:
    """Estimated code bytes (see ``CODE_BYTES``) scaled by ``device.code_density``."""
    n_layers = len(learner.layers) - 1
    c = CODE_BYTES
    if mode == "infer":
        total = c["runtime_infer"] + c["fc_forward"] + c["softmax"]
    else:
        total = c["runtime_learn"] + c["fc_forward"] + c["sampler"] + c["fc_backward_update"] + c["softmax"]
        if arithmetic_of(learner)["float"]:
            total += c["float_support"]
    total += c["per_layer"] * n_layers
    return int(math.ceil(total * device.code_density))


def table_bytes(learner: Any, mode: str) -> dict[str, int]:
    """Constant lookup tables: exp (256 × int16), and for learning the Gaussian inverse CDF and σ tables."""
    if mode == "infer":
        return {"exp_table": 512}
    a = arithmetic_of(learner)
    if a["float"]:
        return {"gauss_icdf": 256 * 4}
    tables = {"exp_table": 512, "gauss_icdf": 512}
    if int(a["sigma_bits"]) <= 10:  # σ stored as a code: σ, σ² and 1/σ tables indexed by it
        entries = 2 ** int(a["sigma_bits"])
        tables.update(sigma=entries * 2, sigma_sq=entries * 4, inv_sigma=entries * 2)
    return tables


@dataclass(frozen=True)
class MemoryMap:
    """Bytes per flash and RAM section, and the arena plans behind the ``arena`` section."""

    mode: str
    flash: dict[str, int]
    ram: dict[str, int]
    plans: dict[str, MemoryPlan] = field(default_factory=dict)

    @property
    def flash_bytes(self) -> int:
        return sum(self.flash.values())

    @property
    def ram_bytes(self) -> int:
        return sum(self.ram.values())

    def largest(self, region: str) -> tuple[str, int]:
        """``(section, bytes)`` of the largest consumer in ``"flash"`` or ``"ram"``."""
        sections = self.flash if region == "flash" else self.ram
        name = max(sections, key=lambda k: (sections[k], k))
        return name, sections[name]

    def plan_dict(self) -> dict:
        return {"arena_bytes": self.ram.get("arena", 0), "alignment": ARENA_ALIGNMENT,
                "passes": {k: p.to_dict() for k, p in self.plans.items()}}


def _flash_sections(learner: Any, device: Device, mode: str) -> dict[str, int]:
    flash = {"code": code_size(learner, mode, device)}
    flash.update(table_bytes(learner, mode))
    sizes = [int(v) for v in learner.layers]
    if mode == "infer":
        n_w = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
        n_out = sum(sizes[1:])
        flash["weights"] = n_w + (4 * n_out if getattr(learner, "bias", False) else 0)
        flash["quant_params"] = 8 * n_out
    else:
        state = int(learner.state_nbytes())
        page = device.flash_write.page_bytes if device.flash_write else 1
        flash["state_image"] = 2 * math.ceil(state / page) * page
    return flash


def memory_map(learner: Any, device: Device, mode: str = "learn") -> MemoryMap:
    """Flash and RAM of ``learner`` on ``device`` in ``mode`` (``"infer"`` or ``"learn"``)."""
    if mode not in ("infer", "learn"):
        raise ValueError(f"mode must be 'infer' or 'learn', got {mode!r}")
    passes = ("infer",) if mode == "infer" else ("predict", "learn")
    plans = {p: plan_memory(pass_buffers(learner, p), ARENA_ALIGNMENT) for p in passes}
    ram: dict[str, int] = {}
    if mode == "learn":
        ram["state"] = int(learner.state_nbytes())
        samples = int(getattr(learner, "train_samples", 1))
        if samples > 1:
            ram["grad_accumulators"] = 2 * 4 * int(learner.n_params())
        ram["prng"] = PRNG_STATE_BYTES
    ram["arena"] = max(p.arena_bytes for p in plans.values())
    ram["stack"] = device.stack_bytes
    frontend = getattr(learner, "frontend", None)
    if frontend is not None:
        ram["frontend"] = int(frontend.ram_bytes())
    return MemoryMap(mode, _flash_sections(learner, device, mode), ram, plans)
