"""Memory map of a learner on a device: flash and RAM, by section, with a planned activation arena.

Modes
-----
``"infer"``: the exported mean network (the int8 ``.tflite``) running in TensorFlow Lite Micro. Flash holds
code, int8 weights (+ int32 biases), per-channel requantisation parameters (int32 multiplier + int32 shift)
and the softmax exp table; RAM holds TFLM's tensor arena and the stack. The arena is estimated by
:func:`tflm_arena_estimate` — TFLM's greedy plan of the int8 activations (16-byte aligned) plus its
bookkeeping (:data:`TFLM_ARENA_BYTES`, per tensor / operator / output channel) — and, when a measured TFLM
arena is given (``tflm_arena=``, see :func:`export.tflm.measure_arena`), the larger of the two is budgeted;
both are kept in ``MemoryMap.tflm``.

``"learn"``: the learner itself. RAM holds the learning state (``state_nbytes``: μ and σ are rewritten
every step), the arena of the larger of the predict and learn passes, the PRNG state (16 bytes: 64-bit key
and counter), the stack, gradient accumulators when ``train_samples > 1`` (2 × int32 per parameter) and the
front end's RAM when one is attached. Where the learner has device code (the fixed learner's generated C),
the passes' buffers are its ``buffer_lists``, planned exactly as the C lays out its arena (so the arena here
is the C's ``NAME_ARENA_BYTES``); otherwise a generic model of the passes. Flash holds code, the lookup
tables and two slots for the persisted state image (A/B, so a power cut during a checkpoint keeps the old
one), each rounded up to the erase unit.

Everything is read from a :class:`~edge_mesu.interface.NetworkDescription` (``learner.describe()``); the
functions accept a learner or pipeline too and describe it.

Code size
---------
A fixed-point network with device C: the code bytes of each part of the device library as compiled for a
Cortex-M4 (``arm-none-eabi-gcc 12.2 -O2``), fitted by ``benchmarks/code_size.py`` on five networks and front
ends (``DEVICE_CODE_BYTES``: the learner's per-layer kernels are inlined once per layer); its tables are the
generated source's own (exact), its exported state is initialised data (in flash and in RAM). With a front
end attached the description is the whole device library (:mod:`edge_mesu.device.package`): front end, A/B
slots, flash HAL and device loop are added, and RAM holds the library's save buffer (one serialised state),
the slots' descriptor and the learner input. Other learners: a sum of per-kernel estimates (``CODE_BYTES``,
Thumb-2 ``-Os``). Both are scaled by the device's ``code_density`` (1.0 = Thumb-2).

Example
-------
>>> from edge_mesu import MESULearner
>>> from firmware_sim.device import load_device
>>> m = memory_map(MESULearner((4, 3, 2), bias=False), load_device("stm32l4"), "infer")
>>> m.flash["weights"], m.flash["quant_params"]
(18, 40)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from edge_mesu.interface import Describable, NetworkDescription, describe
from edge_mesu.memplan import Buffer, MemoryPlan, plan_memory

from .device import Device

__all__ = [
    "CODE_BYTES",
    "DEVICE_CODE_BYTES",
    "DEVICE_LOOP_RAM_BYTES",
    "PRNG_STATE_BYTES",
    "TFLM_ALIGNMENT",
    "TFLM_ARENA_BYTES",
    "MemoryMap",
    "TflmArenaEstimate",
    "code_size",
    "device_code_bytes",
    "library_state_bytes",
    "measured_arena",
    "memory_map",
    "pass_buffers",
    "table_bytes",
    "tflm_arena_estimate",
    "tflm_buffers",
]

CODE_BYTES = {  # estimate: Thumb-2, -Os, per kernel
    "runtime_learn": 1024,  # init, step loop, state checkpoint glue
    "runtime_infer": 512,  # init and predict loop
    "fc_forward": 768,  # dot-product kernel (unrolled, SIMD variant)
    "sampler": 320,  # counter-based PRNG, inverse-CDF Gaussian, w = mu + sigma*eps
    "fc_backward_update": 1536,  # fused backward + MESU update + stochastic rounding
    "softmax": 384,  # max, exp table, normalise, argmax
    "float_support": 2048,  # expf and float helpers (float learner only)
    "per_layer": 64,  # call site and layer descriptor
}
#: Code bytes of the device library's parts, measured (``python benchmarks/code_size.py``; arm-none-eabi-gcc
#: 12.2, ``-mcpu=cortex-m4 -mthumb -O2``): learner = base + per layer (its kernels, the uncertainty step's
#: sampled forward included, are inlined per layer; 2-layer nets 9,158-9,242 B, a 3-layer one 12,118 B),
#: front end = base (raw windows, 2,580 B) + statistics features + decimation, the rest one size each. Code
#: only: tables and state are counted from the source. A library exported without the uncertainty step
#: (``--uncertainty-samples 0``) is smaller than this.
DEVICE_CODE_BYTES = {
    "learner_base": 3360,
    "learner_per_layer": 2920,
    "frontend_base": 2580,
    "frontend_features": 830,
    "frontend_decimate": 100,
    "runtime": 550,  # boot, push (with the uncertainty step's call and novelty flag), save
    "slots": 1426,  # A/B slots, CRC32 and its nibble table
    "flash_hal": 378,  # the RAM flash HAL the library ships for hosts and the emulator
}
#: RAM of the device library besides state, arena and front end: the slots' descriptor (HAL pointer, two
#: bases, geometry, sequence) and the loop's counters, bytes on a 32-bit core.
DEVICE_LOOP_RAM_BYTES = {"slots": 40, "loop_counters": 20}
PRNG_STATE_BYTES = 16
ARENA_ALIGNMENT = 4
TFLM_ALIGNMENT = 16  # TFLM's MicroArenaBufferAlignment
#: TFLM arena model in bytes for an exported int8 MLP with L FULLY_CONNECTED layers (3L + 2 tensors, L + 1
#: operators). Fitted to the RecordingMicroAllocator of tflite-micro 0.dev20261023182759, host build
#: (x86-64, 8-byte pointers), on 16 networks (1-5 layers, widths 2-1000): head exact but for planner
#: ties (16 B), tail within 8 B, smallest working arena within 4 % (tests/test_tflm.py keeps the shipped
#: examples within 25 % of a fresh measurement). TFLM's structs hold pointers, so a 32-bit target needs
#: somewhat less: the estimate errs on the safe side there.
TFLM_ARENA_BYTES = {
    "fixed": 896,  # allocator, subgraph and planner objects; graph input/output TfLiteTensors
    "per_tensor": 24,  # TfLiteEvalTensor
    "per_op": 64,  # NodeAndRegistration
    "per_fc": 112,  # FULLY_CONNECTED op data (and its share of unrecorded allocations)
    "per_channel_array": 4,  # int32 multiplier and int32 shift arrays, each 16-byte aligned
    "prepare_fixed": 232,  # Prepare: temporary TfLiteTensors and quantisation structs
    "prepare_per_channel": 8,  # Prepare: weight and bias zero points converted to int32 (widest layer)
    "plan_per_tensor": 37,  # planner scratch while the memory plan is committed
}


def _nbytes(bits: int) -> int:
    return max(1, math.ceil(int(bits) / 8))


def _formats(desc: NetworkDescription, pass_name: str) -> dict[str, int]:
    """Bytes per element of input, activation, accumulator, gradient and sampled weight."""
    if pass_name == "infer":
        return {"input": 1, "act": 1, "acc": 4, "grad": 4, "weight": 1}
    a = desc.arithmetic
    return {
        "input": _nbytes(a.input_bits),
        "act": _nbytes(a.act_bits),
        "acc": _nbytes(a.acc_bits),
        "grad": _nbytes(a.grad_bits),
        "weight": _nbytes(a.weight_bits),
    }


def tflm_buffers(sizes: tuple[int, ...] | list[int]) -> list[Buffer]:
    """TFLM's non-persistent tensors of the exported int8 MLP: input, ``h{i}``, logits and probs (int8).

    Steps as in :func:`pass_buffers`; graph outputs live to the last step, as TFLM plans them.
    """
    sizes = [int(v) for v in sizes]
    n_layers = len(sizes) - 1
    bufs = [Buffer("input", sizes[0], 0, 1)]
    bufs += [Buffer(f"h{i + 1}", sizes[i + 1], 1 + i, 2 + i) for i in range(n_layers - 1)]
    return bufs + [
        Buffer("logits", sizes[-1], n_layers, n_layers + 1),
        Buffer("probs", sizes[-1], n_layers + 1, n_layers + 1),
    ]


def pass_buffers(learner: Describable | NetworkDescription, pass_name: str) -> list[Buffer]:
    """The arena buffers of one pass (``"infer"``, ``"predict"`` or ``"learn"``) with their lifetimes.

    A network with device code gives its own list (``NetworkDescription.buffer_lists``: the generated C's
    buffers). Otherwise a model: steps 0 input ready, ``1 + i`` forward of layer i, ``L + 1`` softmax,
    ``L + 2 + (L - 1 - i)`` backward of layer i (learn only); ``h{i}`` is the input of layer i (i >= 1),
    ``delta{i}`` the gradient on it. ``"infer"`` is the exported network in TFLM (:func:`tflm_buffers`: int8
    tensors only, TFLM keeps accumulators in registers).
    """
    if pass_name not in ("infer", "predict", "learn"):
        raise ValueError(f"pass must be 'infer', 'predict' or 'learn', got {pass_name!r}")
    desc = describe(learner)
    if pass_name == "infer":
        return tflm_buffers(desc.layers)
    if pass_name in desc.buffer_lists:
        return list(desc.buffer_lists[pass_name])
    sizes = [int(v) for v in desc.layers]
    n_layers = len(sizes) - 1
    f = _formats(desc, pass_name)
    learn = pass_name == "learn"
    sampled = learn or (pass_name == "predict" and desc.predict_samples > 0)
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
    if pass_name == "predict" and desc.predict_samples > 1:
        bufs.append(Buffer("proba_sum", sizes[-1] * f["acc"], fwd[0], soft))
    if learn:
        bufs.append(Buffer("delta_out", sizes[-1] * f["grad"], soft, bwd[-1]))
        for i in range(1, n_layers):
            bufs.append(Buffer(f"delta{i}", sizes[i] * f["acc"], bwd[i], bwd[i - 1]))
    return bufs


def code_size(learner: Describable | NetworkDescription, mode: str, device: Device) -> int:
    """Code bytes scaled by ``device.code_density``: measured per part (``DEVICE_CODE_BYTES``) for a
    fixed-point learner with device C in ``"learn"`` mode (and its library when a front end is attached),
    otherwise the per-kernel estimate (``CODE_BYTES``)."""
    desc = describe(learner)
    return _code_size(desc, mode, device, generated_tables(desc) is not None)


def _code_size(desc: NetworkDescription, mode: str, device: Device, has_c: bool) -> int:
    """:func:`code_size` once it is known whether the network has device C (``has_c``)."""
    n_layers = len(desc.layers) - 1
    if mode == "learn" and has_c:
        return int(math.ceil(sum(device_code_bytes(desc).values()) * device.code_density))
    c = CODE_BYTES
    if mode == "infer":
        total = c["runtime_infer"] + c["fc_forward"] + c["softmax"]
    else:
        total = c["runtime_learn"] + c["fc_forward"] + c["sampler"] + c["fc_backward_update"] + c["softmax"]
        if desc.arithmetic.is_float:
            total += c["float_support"]
    total += c["per_layer"] * n_layers
    return int(math.ceil(total * device.code_density))


def device_code_bytes(learner: Describable | NetworkDescription) -> dict[str, int]:
    """Code bytes of each part of a fixed-point network's device C on a Cortex-M4 (``DEVICE_CODE_BYTES``):
    the learner, and with a front end attached the rest of the device library."""
    desc = describe(learner)
    c = DEVICE_CODE_BYTES
    out = {"learner": c["learner_base"] + c["learner_per_layer"] * (len(desc.layers) - 1)}
    if desc.frontend is not None:
        spec = desc.frontend.spec
        fe = c["frontend_base"] + (c["frontend_features"] if spec.features else 0)
        out["frontend"] = fe + (c["frontend_decimate"] if spec.decimate > 1 else 0)
        out.update(runtime=c["runtime"], slots=c["slots"], flash_hal=c["flash_hal"])
    return out


_C_BYTES = {
    "int8_t": 1,
    "uint8_t": 1,
    "int16_t": 2,
    "uint16_t": 2,
    "int32_t": 4,
    "uint32_t": 4,
    "int64_t": 8,
    "uint64_t": 8,
}
#: Constant structs of the generated C on a 32-bit core: the per-code row (edge_mesu/fixed/csrc: 2 int32,
#: 3 int16, 2 int8) and the layer descriptor (13 int32 and a pointer).
_C_STRUCT_BYTES = {"code_t": 16, "layer_t": 64}
_C_TABLE = re.compile(r"static const (\w+_t) \w+?_(\w+)\[(\w+)\]")


def generated_tables(learner: Describable | NetworkDescription) -> dict[str, int] | None:
    """Bytes of each constant table in the generated C of a fixed-point network (``name → bytes``, the
    prefix dropped), read from the source :func:`edge_mesu.fixed.cgen.generate_c` writes; ``None`` for a
    network without C (float, or a configuration the C does not support)."""
    from edge_mesu.fixed.cgen import generate_c

    desc = describe(learner)
    if desc.fixed is None:
        return None
    try:
        src = generate_c(desc, name="t", with_state=False)
    except ValueError:
        return None
    out: dict[str, int] = {}
    for text in src.files.values():
        for ctype, name, n in _C_TABLE.findall(text):
            count = int(n) if n.isdigit() else int(src.macros[n])
            size = _C_BYTES.get(ctype) or next(v for k, v in _C_STRUCT_BYTES.items() if ctype.endswith("_" + k))
            out[name] = out.get(name, 0) + size * count
    return out


def table_bytes(learner: Describable | NetworkDescription, mode: str) -> dict[str, int]:
    """Constant lookup tables. A fixed-point network with C: the tables of its generated source (exact;
    inference keeps the exp table only, the compiler drops the rest). Otherwise an estimate: exp (256 ×
    int16), and for learning the Gaussian inverse CDF and σ tables."""
    desc = describe(learner)
    return _table_bytes(desc, mode, generated_tables(desc))


def _table_bytes(desc: NetworkDescription, mode: str, tables: dict[str, int] | None) -> dict[str, int]:
    """:func:`table_bytes` given the generated C's tables (``None``: the network has no device C)."""
    if tables is not None:
        if mode == "infer":
            return {k: v for k, v in tables.items() if k.startswith("exp")}
        return tables
    if mode == "infer":
        return {"exp_table": 512}
    a = desc.arithmetic
    if a.is_float:
        return {"gauss_icdf": 256 * 4}
    tables = {"exp_table": 512, "gauss_icdf": 512}
    if a.sigma_bits <= 10:  # σ stored as a code: σ, σ² and 1/σ tables indexed by it
        entries = 2**a.sigma_bits
        tables.update(sigma=entries * 2, sigma_sq=entries * 4, inv_sigma=entries * 2)
    return tables


@dataclass(frozen=True)
class TflmArenaEstimate:
    """Estimated TFLM arena: ``head`` (planned activations), ``tail`` (persistent bookkeeping) and
    ``prepare`` (temporary memory between them while kernels are prepared and the plan is committed).

    ``required = tail + max(head, prepare)``: what ``kTensorArenaSize`` must be.
    """

    head: int
    tail: int
    prepare: int
    plan: MemoryPlan

    @property
    def required(self) -> int:
        return self.tail + max(self.head, self.prepare)

    def to_dict(self) -> dict[str, int]:
        return {"head": self.head, "tail": self.tail, "prepare": self.prepare, "required": self.required}


def tflm_arena_estimate(sizes: tuple[int, ...] | list[int]) -> TflmArenaEstimate:
    """TFLM's arena for the exported int8 MLP of layer ``sizes`` (see :data:`TFLM_ARENA_BYTES`).

    >>> est = tflm_arena_estimate((784, 50, 10))
    >>> est.head, est.tail, est.required  # measured: head 848, tail 2016, smallest working arena 2856
    (848, 2016, 2864)
    """
    sizes = [int(v) for v in sizes]
    if len(sizes) < 2 or any(v < 1 for v in sizes):
        raise ValueError(f"layer sizes must be >= 1 and at least (n_in, n_out), got {sizes}")
    c = TFLM_ARENA_BYTES
    n_fc = len(sizes) - 1
    n_tensors = 3 * n_fc + 2
    channel_arrays = sum(2 * _align(c["per_channel_array"] * n, TFLM_ALIGNMENT) for n in sizes[1:])
    tail = c["fixed"] + c["per_tensor"] * n_tensors + c["per_op"] * (n_fc + 1) + c["per_fc"] * n_fc + channel_arrays
    prepare = max(c["prepare_fixed"] + c["prepare_per_channel"] * max(sizes[1:]), c["plan_per_tensor"] * n_tensors)
    plan = plan_memory(
        [Buffer(b.name, _align(b.size, TFLM_ALIGNMENT), b.first_use, b.last_use) for b in tflm_buffers(sizes)],
        TFLM_ALIGNMENT,
    )
    return TflmArenaEstimate(plan.arena_bytes, tail, prepare, plan)


def _align(n: int, alignment: int) -> int:
    return -(-int(n) // alignment) * alignment


def measured_arena(value: Any) -> dict[str, int | None]:
    """A measured TFLM arena as ``{"required", "total", "head", "tail", "smallest"}``.

    Accepts bytes (an int: the arena needed), a mapping with ``total``, ``head``, ``tail`` and optional
    ``smallest``, or an object whose ``to_dict()`` gives one (e.g. :class:`export.tflm.ArenaMeasurement`).
    """
    if isinstance(value, bool):
        raise TypeError(f"tflm_arena must be bytes (int), a mapping or a measurement, got {value!r}")
    if isinstance(value, int):
        if value < 1:
            raise ValueError(f"tflm_arena must be >= 1 byte, got {value}")
        return {"required": value, "total": value, "head": None, "tail": None, "smallest": None}
    fields: dict[str, Any] = value if isinstance(value, dict) else value.to_dict()
    try:
        total, head, tail = (int(fields[k]) for k in ("total", "head", "tail"))
    except (KeyError, TypeError, ValueError):
        raise TypeError(f"tflm_arena needs total, head and tail bytes, got {value!r}") from None
    raw = fields.get("smallest")
    smallest = None if raw is None else int(raw)
    return {
        "required": smallest if smallest is not None else total,
        "total": total,
        "head": head,
        "tail": tail,
        "smallest": smallest,
    }


@dataclass(frozen=True)
class MemoryMap:
    """Bytes per flash and RAM section, and the arena plans behind the ``arena`` section.

    ``tflm`` (infer mode): ``{"estimated": {head, tail, prepare, required}, "measured": {...} or None,
    "budgeted": "estimated" | "measured"}`` — which of the two the ``arena`` section holds (the larger).
    """

    mode: str
    flash: dict[str, int]
    ram: dict[str, int]
    plans: dict[str, MemoryPlan] = field(default_factory=dict)
    tflm: dict[str, Any] = field(default_factory=dict)

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
        out = {
            "arena_bytes": self.ram.get("arena", 0),
            "alignment": TFLM_ALIGNMENT if self.mode == "infer" else ARENA_ALIGNMENT,
            "passes": {k: p.to_dict() for k, p in self.plans.items()},
        }
        if self.tflm:
            out["tflm"] = self.tflm
        return out


def _flash_sections(
    desc: NetworkDescription, device: Device, mode: str, tables: dict[str, int] | None
) -> dict[str, int]:
    """Flash by section; ``tables``: the generated C's (:func:`generated_tables`, computed once per map)."""
    flash = {"code": _code_size(desc, mode, device, tables is not None)}
    flash.update(_table_bytes(desc, mode, tables))
    sizes = [int(v) for v in desc.layers]
    if mode == "infer":
        n_w = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
        n_out = sum(sizes[1:])
        flash["weights"] = n_w + (4 * n_out if desc.bias else 0)
        flash["quant_params"] = 8 * n_out
    else:
        state = desc.state_nbytes
        if tables is not None:
            flash["state_init"] = state  # the exported μ and codes: initialised data, copied to RAM at boot
            if desc.frontend is not None:
                flash["factory_frontend"] = frontend_blob_bytes(desc)
                state = library_state_bytes(desc)
        page = device.flash_write.page_bytes if device.flash_write else 1
        flash["state_image"] = 2 * math.ceil(state / page) * page
    return flash


def library_state_bytes(learner: Describable | NetworkDescription) -> int:
    """Bytes of one saved state of a device library (``NAME_STATE_BYTES``): the learner's blob (its header,
    μ, codes and CRC) and, when a front end is attached, the front end's."""
    from edge_mesu.fixed.cblob import state_blob

    desc = describe(learner)
    return len(state_blob(desc)) + frontend_blob_bytes(desc)


def frontend_blob_bytes(learner: Describable | NetworkDescription) -> int:
    """Bytes of the attached front end's saved state in C (``FE_STATE_BYTES``: header, arrays, CRC); 0 without."""
    from edge_mesu.frontend.cgen import frontend_state_bytes

    desc = describe(learner)
    return 0 if desc.frontend is None else frontend_state_bytes(desc.frontend.spec)


def _tflm_arena(desc: NetworkDescription, tflm_arena: Any) -> tuple[int, MemoryPlan, dict[str, Any]]:
    """Infer mode: ``(arena bytes to budget, head plan, MemoryMap.tflm)``."""
    est = tflm_arena_estimate(desc.layers)
    measured = None if tflm_arena is None else measured_arena(tflm_arena)
    use_measured = measured is not None and int(measured["required"]) > est.required  # type: ignore[arg-type]
    arena = int(measured["required"]) if use_measured else est.required  # type: ignore[index,arg-type]
    info = {"estimated": est.to_dict(), "measured": measured, "budgeted": "measured" if use_measured else "estimated"}
    return arena, est.plan, info


def memory_map(
    learner: Describable | NetworkDescription, device: Device, mode: str = "learn", tflm_arena: Any = None
) -> MemoryMap:
    """Flash and RAM of a network (a description, or a learner / pipeline to describe) on ``device`` in
    ``mode`` (``"infer"`` or ``"learn"``).

    ``tflm_arena`` (infer mode only): TFLM's measured arena for the exported network (see
    :func:`measured_arena`); the larger of it and the estimate is budgeted.
    """
    if mode not in ("infer", "learn"):
        raise ValueError(f"mode must be 'infer' or 'learn', got {mode!r}")
    desc = describe(learner)
    if tflm_arena is not None and mode != "infer":
        raise ValueError("a measured TFLM arena applies to mode='infer' (the exported network) only")
    tflm: dict[str, Any] = {}
    if mode == "infer":
        arena, head_plan, tflm = _tflm_arena(desc, tflm_arena)
        plans = {"infer": head_plan}
    else:
        plans = {p: plan_memory(pass_buffers(desc, p), desc.arena_alignment) for p in ("predict", "learn")}
        arena = max(p.arena_bytes for p in plans.values())
    ram: dict[str, int] = {}
    tables = generated_tables(desc)  # generates the C once; every section below reads it
    library = mode == "learn" and tables is not None
    if mode == "learn":
        ram["state"] = desc.state_nbytes
        if desc.train_samples > 1:
            ram["grad_accumulators"] = 2 * 4 * desc.n_params
        if library:  # the C's state struct: μ and code pointers, 64-bit seed and step, the counters
            from edge_mesu.fixed.cgen import COUNTER_NAMES

            ram["learner_state"] = 2 * 4 + 16 + 4 * len(COUNTER_NAMES)
        else:
            ram["prng"] = PRNG_STATE_BYTES
    ram["arena"] = arena
    ram["stack"] = device.stack_bytes
    if desc.frontend is not None:
        ram["frontend"] = desc.frontend.ram_bytes
        if library:  # the device loop (edge_mesu/device/csrc/template_runtime.h)
            ram["save_buffer"] = library_state_bytes(desc)
            ram["learner_input"] = desc.layers[0] * _nbytes(desc.arithmetic.input_bits)
            ram.update(DEVICE_LOOP_RAM_BYTES)
    return MemoryMap(mode, _flash_sections(desc, device, mode, tables), ram, plans, tflm)
