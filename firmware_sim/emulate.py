"""Run the generated C of a fixed-point learner on an emulated Cortex-M4 and count executed instructions.

The library of :func:`edge_mesu.fixed.cgen.generate_c` is cross-compiled with ``arm-none-eabi-gcc
-mcpu=cortex-m4 -mthumb -O2`` (freestanding, no libc: a tiny startup file and linker script of our own),
loaded into `unicorn <https://www.unicorn-engine.org>`_ (ARM, Thumb, M-class, CPU model Cortex-M4), and each
``predict`` / ``learn_one`` call is run to its return while a hook counts the instructions executed. After
the learn steps the emulated state (μ, σ codes, step, counters) is compared with the Python learner's.

What is measured: instruction counts and code size (``arm-none-eabi-size``). What is not: cycles — the
emulator has no pipeline or memory timing; :mod:`firmware_sim.calibration` converts counts to cycles with
a documented cycles-per-instruction figure.

Example (skipped without the toolchain or unicorn)
-------
>>> from edge_mesu.fixed import FixedMESULearner
>>> res = emulate(FixedMESULearner((8, 4, 2), seed=0), steps=1)   # doctest: +SKIP
>>> res.bit_exact, res.predict_instructions > 0                    # doctest: +SKIP
(True, True)
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edge_mesu.fixed.cgen import COUNTER_NAMES, generate_c
from edge_mesu.fixed.entropy import check_samples

__all__ = [
    "ARM_FLAGS",
    "CORES",
    "EmulationResult",
    "EmulatorUnavailableError",
    "emulate",
    "emulator_available",
    "FLASH_BASE",
    "RAM_BASE",
]

ARM_FLAGS = ("-mcpu=cortex-m4", "-mthumb", "-O2", "-std=c99", "-ffreestanding", "-Wall", "-Wextra", "-Werror")
#: The emulated cores: compiler flags and unicorn's CPU model (unicorn's Cortex-M0 runs ARMv6-M, the
#: instruction set of the M0+: no DSP, no hardware divide, 32x32->32 multiplies only).
CORES: dict[str, tuple[tuple[str, ...], str]] = {
    "cortex-m4": (ARM_FLAGS, "UC_CPU_ARM_CORTEX_M4"),
    "cortex-m0plus": (("-mcpu=cortex-m0plus",) + ARM_FLAGS[1:], "UC_CPU_ARM_CORTEX_M0"),
}
FLASH_BASE, FLASH_SIZE = 0x08000000, 4 << 20
RAM_BASE, RAM_SIZE = 0x20000000, 2 << 20  # generous: the emulator is not the budget (see memory.py)
_NAME = "net"

_LINKER = f"""ENTRY(Reset_Handler)
MEMORY {{ FLASH (rx) : ORIGIN = {FLASH_BASE:#x}, LENGTH = {FLASH_SIZE:#x}
         RAM (rwx) : ORIGIN = {RAM_BASE:#x}, LENGTH = {RAM_SIZE:#x} }}
SECTIONS {{
  .isr_vector : {{ KEEP(*(.isr_vector)) }} > FLASH
  .text : {{ *(.text*) *(.rodata*) }} > FLASH
  _sidata = LOADADDR(.data);
  .data : {{ _sdata = .; *(.data*) _edata = .; }} > RAM AT > FLASH
  .bss (NOLOAD) : {{ _sbss = .; *(.bss*) *(COMMON) _ebss = .; }} > RAM
  _estack = ORIGIN(RAM) + LENGTH(RAM);
}}
"""

_STARTUP = """/* Minimal Cortex-M startup: vectors, .data copy, .bss zero; memset/memcpy for the compiler. */
#include <stddef.h>
#include <stdint.h>
extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
void Reset_Handler(void);
void emu_halt(void);
__attribute__((section(".isr_vector"), used))
const void *const vectors[2] = {&_estack, (void *)Reset_Handler};
void Reset_Handler(void)
{
    uint32_t *src = &_sidata, *dst = &_sdata;
    while (dst < &_edata) { *dst++ = *src++; }
    for (dst = &_sbss; dst < &_ebss;) { *dst++ = 0; }
}
void emu_halt(void) { for (;;) { } }
void *memset(void *d, int c, size_t n)
{ unsigned char *p = d; while (n--) { *p++ = (unsigned char)c; } return d; }
void *memcpy(void *d, const void *s, size_t n)
{ unsigned char *p = d; const unsigned char *q = s; while (n--) { *p++ = *q++; } return d; }
"""

_HARNESS = """/* Emulator harness: one state, one arena, input/output buffers the host writes and reads. */
#include "net.h"
net_state_t emu_state;
static net_arena_t emu_arena;
int8_t emu_x[NET_N_IN];
int32_t emu_p[NET_N_OUT];
volatile int32_t emu_y;
void emu_init(void) { net_state_init(&emu_state); }
int emu_predict(void) { return net_predict(emu_state.mu, &emu_arena, emu_x, emu_p); }
int emu_learn(void) { return net_learn_one(&emu_state, &emu_arena, emu_x, emu_y); }
volatile uint32_t emu_k;
int32_t emu_pm[NET_N_OUT];
net_uncertainty_t emu_u;
int emu_uncertainty(void) { return net_uncertainty(&emu_state, &emu_arena, emu_x, emu_k, emu_pm, &emu_u); }
"""


class EmulatorUnavailableError(RuntimeError):
    """The cross toolchain (``arm-none-eabi-gcc``) or the ``unicorn`` package is missing."""


def emulator_available() -> str | None:
    """``None`` when emulation can run, else the reason (names the missing tool)."""
    for tool in ("arm-none-eabi-gcc", "arm-none-eabi-size", "arm-none-eabi-nm"):
        if shutil.which(tool) is None:
            return f"{tool} not found (Debian: apt-get install gcc-arm-none-eabi)"
    try:
        import unicorn  # noqa: F401
    except ImportError:
        return "the unicorn package is not installed (pip install unicorn, or the 'emu' extra)"
    return None


@dataclass(frozen=True)
class EmulationResult:
    """Measured on the emulated Cortex-M4: sizes in bytes, instructions per call."""

    layers: tuple[int, ...]
    library_size: dict[str, int]  # text / data / bss of the generated library object (net.o)
    image_size: dict[str, int]  # text / data / bss of the whole linked image (startup + harness)
    predict_instructions: list[int]
    learn_instructions: list[int]
    bit_exact: bool
    counting: str
    compiler: str
    flags: tuple[str, ...] = ARM_FLAGS
    notes: dict[str, Any] = field(default_factory=dict)
    cpu: str = "cortex-m4"
    uncertainty_instructions: list[int] = field(default_factory=list)  # with uncertainty_samples > 0
    uncertainty_samples: int = 0

    @property
    def uncertainty_mean(self) -> float | None:
        return float(np.mean(self.uncertainty_instructions)) if self.uncertainty_instructions else None

    @property
    def predict_mean(self) -> float:
        return float(np.mean(self.predict_instructions))

    @property
    def learn_mean(self) -> float:
        return float(np.mean(self.learn_instructions))

    def to_dict(self) -> dict[str, Any]:
        return {
            "layers": list(self.layers),
            "library_size": self.library_size,
            "image_size": self.image_size,
            "predict_instructions": self.predict_instructions,
            "learn_instructions": self.learn_instructions,
            "predict_mean": self.predict_mean,
            "learn_mean": self.learn_mean,
            "bit_exact": self.bit_exact,
            "counting": self.counting,
            "compiler": self.compiler,
            "flags": list(self.flags),
            "cpu": self.cpu,
            "uncertainty_samples": self.uncertainty_samples,
            "uncertainty_instructions": self.uncertainty_instructions,
            "uncertainty_mean": self.uncertainty_mean,
            **self.notes,
        }


def _run(cmd: list[str], cwd: Path) -> str:
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{res.stderr[-4000:]}")
    return res.stdout


def _size(path: Path, cwd: Path) -> dict[str, int]:
    text, data, bss = _run(["arm-none-eabi-size", "-B", str(path)], cwd).splitlines()[1].split()[:3]
    return {"text": int(text), "data": int(data), "bss": int(bss)}


def _core(cpu: str) -> tuple[tuple[str, ...], str]:
    if cpu not in CORES:
        raise ValueError(f"cpu must be one of {', '.join(CORES)}, got {cpu!r}")
    return CORES[cpu]


def build_firmware(
    learner: Any, workdir: Path, cpu: str = "cortex-m4", acle: bool = False
) -> tuple[Path, dict[str, int], dict[str, int]]:
    """Cross-compile ``learner``'s library with the harness; (ELF path, library size, image size).

    ``acle`` defines ``NET_USE_ACLE`` (the dual 16-bit MAC through the ACLE intrinsic, DSP cores only)."""
    flags = _core(cpu)[0] + ((f"-D{_NAME.upper()}_USE_ACLE",) if acle else ())
    src = generate_c(learner, name=_NAME)
    for name, text in {**src.files, "startup.c": _STARTUP, "harness.c": _HARNESS, "link.ld": _LINKER}.items():
        (workdir / name).write_text(text, encoding="utf-8")
    for c in ("net", "startup", "harness"):
        _run(["arm-none-eabi-gcc", *flags, "-c", f"{c}.c", "-o", f"{c}.o"], workdir)
    _run(
        [
            "arm-none-eabi-gcc",
            *flags,
            "-nostdlib",
            "-T",
            "link.ld",
            "startup.o",
            "harness.o",
            "net.o",
            "-lgcc",
            "-o",
            "fw.elf",
        ],
        workdir,
    )
    return workdir / "fw.elf", _size(workdir / "net.o", workdir), _size(workdir / "fw.elf", workdir)


def _symbols(elf: Path) -> dict[str, int]:
    out = _run(["arm-none-eabi-nm", str(elf)], elf.parent)
    rows = (line.split() for line in out.splitlines())
    return {parts[2]: int(parts[0], 16) for parts in rows if len(parts) == 3}


def _load_segments(uc: Any, elf: Path) -> None:
    """Write every PT_LOAD segment at its load address (startup code then copies .data to RAM)."""
    data = elf.read_bytes()
    (phoff,) = struct.unpack_from("<I", data, 28)
    phentsize, phnum = struct.unpack_from("<HH", data, 42)
    for k in range(phnum):
        p_type, p_offset, _vaddr, p_paddr, p_filesz = struct.unpack_from("<IIIII", data, phoff + k * phentsize)
        if p_type == 1 and p_filesz:
            uc.mem_write(p_paddr, data[p_offset : p_offset + p_filesz])


def _thumb_count(code: bytes) -> int:
    """Instructions in a block of Thumb-2 code: a halfword 0b11101/0b11110/0b11111... starts a 32-bit one."""
    n = pos = 0
    while pos + 1 < len(code):
        top = code[pos + 1] >> 3
        pos += 4 if top in (0b11101, 0b11110, 0b11111) else 2
        n += 1
    return n


class _Machine:
    """One emulated Cortex-M4 with the firmware loaded and started (Reset_Handler, then emu_init)."""

    def __init__(self, elf: Path, counting: str, cpu: str = "cortex-m4") -> None:
        import unicorn
        from unicorn import arm_const

        self._reg = arm_const
        self.uc = unicorn.Uc(unicorn.UC_ARCH_ARM, unicorn.UC_MODE_THUMB | unicorn.UC_MODE_MCLASS)
        self.uc.ctl_set_cpu_model(getattr(arm_const, _core(cpu)[1]))
        self.uc.mem_map(FLASH_BASE, FLASH_SIZE)
        self.uc.mem_map(RAM_BASE, RAM_SIZE)
        _load_segments(self.uc, elf)
        self.sym = {k: v & ~1 for k, v in _symbols(elf).items()}
        self.count = 0
        self._blocks: dict[tuple[int, int], int] = {}
        if counting == "block":
            self.uc.hook_add(unicorn.UC_HOOK_BLOCK, self._on_block)
        elif counting == "code":
            self.uc.hook_add(unicorn.UC_HOOK_CODE, self._on_code)
        else:
            raise ValueError(f"counting must be 'block' or 'code', got {counting!r}")
        self.call("Reset_Handler")
        self.call("emu_init")

    def _on_block(self, uc: Any, address: int, size: int, _user: Any) -> None:
        n = self._blocks.get((address, size))
        if n is None:
            n = self._blocks[(address, size)] = _thumb_count(bytes(uc.mem_read(address, size)))
        self.count += n

    def _on_code(self, _uc: Any, _address: int, _size: int, _user: Any) -> None:
        self.count += 1

    def call(self, fn: str) -> tuple[int, int]:
        """Run ``fn(void)`` to its return; (r0, instructions executed)."""
        self.count = 0
        self.uc.reg_write(self._reg.UC_ARM_REG_SP, RAM_BASE + RAM_SIZE)
        self.uc.reg_write(self._reg.UC_ARM_REG_LR, self.sym["emu_halt"] | 1)
        self.uc.emu_start(self.sym[fn] | 1, self.sym["emu_halt"])
        return self.uc.reg_read(self._reg.UC_ARM_REG_R0), self.count

    def array(self, symbol: str, dtype: str, n: int) -> np.ndarray:
        raw = self.uc.mem_read(self.sym[symbol], n * np.dtype(dtype).itemsize)
        return np.frombuffer(bytes(raw), dtype=dtype).copy()

    def write(self, symbol: str, values: np.ndarray) -> None:
        self.uc.mem_write(self.sym[symbol], np.ascontiguousarray(values).tobytes())

    def state(self, n_params: int) -> tuple[np.ndarray, np.ndarray, int, list[int]]:
        """(μ, codes, step, counters) of ``emu_state`` (ARM EABI layout: 2 pointers, 2 u64, u32[])."""
        raw = bytes(self.uc.mem_read(self.sym["emu_state"], 24 + 4 * len(COUNTER_NAMES)))
        mu_ptr, code_ptr = struct.unpack_from("<II", raw, 0)
        (step,) = struct.unpack_from("<Q", raw, 16)
        counters = list(struct.unpack_from(f"<{len(COUNTER_NAMES)}I", raw, 24))
        mu = np.frombuffer(bytes(self.uc.mem_read(mu_ptr, 2 * n_params)), dtype="<i2")
        code = np.frombuffer(bytes(self.uc.mem_read(code_ptr, n_params)), dtype=np.uint8)
        return mu, code, step, counters


def _same_state(machine: _Machine, learner: Any) -> bool:
    net = learner.describe().fixed
    mu, code, step, counters = machine.state(net.layout.n_params)
    py = [net.counters.get(n, 0) if n != "input" else 0 for n in COUNTER_NAMES]
    return bool(np.array_equal(mu, net.mu) and np.array_equal(code, net.code) and step == net.step and counters == py)


def emulate(
    learner: Any,
    steps: int = 3,
    X: np.ndarray | None = None,
    y: np.ndarray | None = None,
    counting: str = "block",
    seed: int = 0,
    cpu: str = "cortex-m4",
    acle: bool = False,
    uncertainty_samples: int = 0,
) -> EmulationResult:
    """Cross-compile ``learner``'s C library, run ``steps`` predict + learn_one calls on an emulated M4
    (and, with ``uncertainty_samples`` k >= 2, ``uncertainty`` with k weight samples before each learn_one).

    ``learner`` is not modified (a copy learns alongside the emulator, and every predicted probability and
    the state after every update are compared: ``bit_exact``). Inputs default to seeded N(0, 0.8²) rows
    clipped to the int8 input range; ``counting`` is ``"block"`` (fast) or ``"code"`` (a hook per
    instruction; the same counts, slower); ``cpu`` is ``"cortex-m4"`` or ``"cortex-m0plus"`` (:data:`CORES`);
    ``acle`` builds the dual-MAC path with the ACLE intrinsic (``__smlad``) instead of portable C.

    Raises
    ------
    EmulatorUnavailableError
        ``arm-none-eabi-gcc`` or ``unicorn`` is missing (the message names it).
    ValueError
        A learner the C export does not support.
    """
    if uncertainty_samples:
        check_samples(uncertainty_samples)
    reason = emulator_available()
    if reason is not None:
        raise EmulatorUnavailableError(reason)
    twin = type(learner).from_bytes(learner.to_bytes())
    rng = np.random.default_rng(seed)
    n_in, n_out = twin.layers[0], twin.layers[-1]
    X = np.clip(rng.standard_normal((steps, n_in)) * 0.8, -3.9, 3.9) if X is None else np.asarray(X)
    y = rng.integers(0, n_out, steps) if y is None else np.asarray(y)
    with tempfile.TemporaryDirectory(prefix="edge_mesu_emu_") as tmp:
        elf, lib_size, image_size = build_firmware(twin, Path(tmp), cpu, acle)
        machine = _Machine(elf, counting, cpu)
        compiler = _run(["arm-none-eabi-gcc", "--version"], Path(tmp)).splitlines()[0]
    predict, learn, exact = [], [], _same_state(machine, twin)
    unc: list[int] = []
    for k in range(steps):
        machine.write("emu_x", twin.quantize(X[k])[0])
        best, n = machine.call("emu_predict")
        predict.append(n)
        ref = twin.predict_q15(X[k : k + 1])[0]
        same_p = np.array_equal(machine.array("emu_p", "<i4", n_out), ref)
        exact &= bool(same_p and best == int(np.argmax(ref)))
        if uncertainty_samples:
            exact &= _same_uncertainty(machine, twin, twin.quantize(X[k]), uncertainty_samples, unc)
        machine.write("emu_y", np.array([y[k]], dtype="<i4"))
        _, n = machine.call("emu_learn")
        learn.append(n)
        twin.learn_one(X[k], int(y[k]))
        exact &= _same_state(machine, twin)
    return EmulationResult(
        tuple(twin.layers),
        lib_size,
        image_size,
        predict,
        learn,
        exact,
        counting,
        compiler,
        _core(cpu)[0] + (("-DNET_USE_ACLE",) if acle else ()),
        notes={"n_params": twin.n_params(), "bias": twin.bias},
        cpu=cpu,
        uncertainty_instructions=unc,
        uncertainty_samples=uncertainty_samples,
    )


def _same_uncertainty(machine: _Machine, twin: Any, x_q: np.ndarray, k: int, counts: list[int]) -> bool:
    """Run ``uncertainty`` with k samples on the input in ``emu_x``; equal to Python's integers?"""
    machine.write("emu_k", np.array([k], dtype="<u4"))
    best, n = machine.call("emu_uncertainty")
    counts.append(n)
    ref = twin.uncertainty_int_q(x_q, k)
    n_out = twin.layers[-1]
    got = machine.array("emu_u", "<i4", 3).tolist()
    return bool(
        np.array_equal(machine.array("emu_pm", "<i4", n_out), ref.mean_q15[0])
        and best == int(np.argmax(ref.mean_q15[0]))
        and got == [int(ref.predictive[0]), int(ref.aleatoric[0]), int(ref.mi[0])]
    )
