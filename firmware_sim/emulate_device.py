"""The device-runtime C on an emulated Cortex-M4: the sensor front end (bit-exact with Python) and the A/B
flash slots under power cuts.

Same approach as :mod:`firmware_sim.emulate` (its startup file, linker script and ELF loader):
``arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -O2``, freestanding, loaded into unicorn. Two firmwares:

* **front end** — :func:`edge_mesu.frontend.cgen.generate_frontend_c` plus a harness; :func:`emulate_frontend`
  streams int16 samples through ``name_push_block`` in chunks, can save the state blob inside a window and
  restore it into a freshly booted device, and returns the windows and the blob for comparison with
  :class:`edge_mesu.frontend.FrontEnd` (instruction counts per raw sample and per window when asked).
* **flash slots** — ``emsu_slots.c`` over the RAM-backed HAL, whose "flash" is a memory region outside
  .data/.bss (``NVM_BASE``): a reboot (``Reset_Handler`` again) wipes RAM but not the flash.
  :func:`power_cut_campaign` starts a save, stops the CPU after N instructions (power cut), reboots, loads,
  and classifies what came back: the old state, the new one, the factory fallback, or anything else (torn).
* **a packaged library** (:func:`edge_mesu.device.package.write_library`) — :func:`emulate_library` runs its
  device loop (front end, learner, periodic saves) sample by sample and cuts the power inside chosen saves.

Example (skipped without the toolchain or unicorn)
-------
>>> from edge_mesu.device.flash import SlotLayout
>>> res = power_cut_campaign(SlotLayout(256, 2), b"old" * 50, b"new" * 60, points=20)  # doctest: +SKIP
>>> res.torn, res.points >= 20                                                           # doctest: +SKIP
(0, True)
"""

from __future__ import annotations

import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edge_mesu.device.csources import slots_sources
from edge_mesu.device.flash import SlotLayout, blank_image, read_slots, write_slot
from edge_mesu.frontend.cgen import generate_frontend_c
from edge_mesu.frontend.spec import FrontEndSpec

from .emulate import (
    _LINKER,
    _STARTUP,
    ARM_FLAGS,
    FLASH_BASE,
    RAM_BASE,
    EmulatorUnavailableError,
    _load_segments,
    _run,
    _size,
    _symbols,
    _thumb_count,
    emulator_available,
)

__all__ = [
    "NVM_BASE",
    "Row",
    "FrontEndEmulation",
    "LibraryEmulation",
    "PowerCutResult",
    "build_frontend_firmware",
    "build_slots_firmware",
    "emulate_frontend",
    "emulate_library",
    "power_cut_campaign",
]

#: One window of a device loop: (end, pred, label, learned, saved, mi_q16, novel); mi_q16 is −1 without an
#: uncertainty step.
Row = tuple[int, int, int, int, int, int, int]
NVM_BASE = 0x60000000  # the emulated flash of the state slots: outside the image's RAM, kept across reboots
_FLASH_SIZE, _RAM_SIZE = 4 << 20, 2 << 20  # as in firmware_sim.emulate's linker script
_CHUNK = 512  # raw samples per emulated push_block call
_FE = "fe"

_FE_HARNESS = """/* Emulator harness of the front end: one state, I/O buffers the host writes and reads. */
#include "fe.h"
#define EMU_CHUNK {chunk}
#define EMU_MAXW ({chunk} / FE_DECIMATE + 1)
fe_state_t emu_fe;
int16_t emu_x[EMU_CHUNK * FE_CHANNELS];
int32_t emu_lab[EMU_CHUNK];
int8_t emu_out[EMU_MAXW * FE_N_OUTPUTS];
int32_t emu_wl[EMU_MAXW];
uint64_t emu_end[EMU_MAXW];
uint32_t emu_n, emu_consumed, emu_max;
uint8_t emu_blob[FE_STATE_BYTES];
void emu_init(void) {{ fe_reset(&emu_fe); }}
uint32_t emu_push(void)
{{ return fe_push_block(&emu_fe, emu_x, emu_lab, emu_n, emu_out, emu_wl, emu_end, emu_max, &emu_consumed); }}
int emu_push_one(void) {{ return fe_push(&emu_fe, emu_x, emu_lab[0], emu_out, emu_wl); }}
uint32_t emu_save(void) {{ return (uint32_t)fe_state_save(&emu_fe, emu_blob, sizeof emu_blob); }}
int emu_load(void) {{ return fe_state_load(&emu_fe, emu_blob, sizeof emu_blob); }}
"""

_SLOTS_HARNESS = """/* Emulator harness of the A/B slots: the RAM HAL over the NVM region, one payload buffer. */
#include "emsu_flash_ram.h"
#define NVM ((uint8_t *)0x{nvm:08x}u)
static emsu_flash_hal_t hal;
static emsu_flash_ram_t ram;
static emsu_slots_t slots;
uint8_t emu_buf[{cap}];
uint32_t emu_len, emu_seq;
int32_t emu_newest;
void emu_init(void)
{{
    emsu_flash_ram_init(&ram, &hal, NVM, {size}u, {page}u, {unit}u);
    (void)emsu_slots_init(&slots, &hal, 0u, {pages}u, {hash}u);
}}
int emu_boot(void)
{{
    int rc = emsu_slots_load(&slots, emu_buf, sizeof emu_buf, &emu_len);
    emu_seq = slots.seq;
    emu_newest = slots.newest;
    return rc;
}}
int emu_save(void) {{ return emsu_slots_save(&slots, emu_buf, emu_len); }}
"""


def _check() -> None:
    reason = emulator_available()
    if reason is not None:
        raise EmulatorUnavailableError(reason)


def _build(files: dict[str, str], objects: list[str], workdir: Path) -> Path:
    for name, text in {**files, "startup.c": _STARTUP, "link.ld": _LINKER}.items():
        (workdir / name).write_text(text, encoding="utf-8")
    for c in [*objects, "startup", "harness"]:
        _run(["arm-none-eabi-gcc", *ARM_FLAGS, "-c", f"{c}.c", "-o", f"{c}.o"], workdir)
    objs = ["startup.o", "harness.o", *(f"{c}.o" for c in objects)]
    _run(["arm-none-eabi-gcc", *ARM_FLAGS, "-nostdlib", "-T", "link.ld", *objs, "-lgcc", "-o", "fw.elf"], workdir)
    return workdir / "fw.elf"


def build_frontend_firmware(
    spec: FrontEndSpec, workdir: Path, n_classes: int | None = None, chunk: int = _CHUNK
) -> Path:
    """Cross-compile the front end of ``spec`` with its harness; the ELF's path."""
    src = generate_frontend_c(spec, name=_FE, n_classes=n_classes)
    return _build({**src.files, "harness.c": _FE_HARNESS.format(chunk=chunk)}, [_FE], workdir)


def build_slots_firmware(layout: SlotLayout, config_hash: int, workdir: Path) -> Path:
    """Cross-compile the A/B slots and the RAM HAL (over ``NVM_BASE``) with their harness; the ELF's path."""
    harness = _SLOTS_HARNESS.format(
        nvm=NVM_BASE,
        cap=max(layout.capacity, 4),
        size=layout.total_bytes,
        page=layout.page_bytes,
        unit=layout.prog_unit,
        pages=layout.slot_pages,
        hash=config_hash & 0xFFFFFFFF,
    )
    return _build({**slots_sources(), "harness.c": harness}, ["emsu_slots", "emsu_flash_ram"], workdir)


class _Device:
    """An emulated Cortex-M4 running one firmware; ``boot()`` is a power-on (RAM re-initialised, NVM kept)."""

    def __init__(self, elf: Path, nvm_bytes: int = 0) -> None:
        import unicorn
        from unicorn import arm_const

        self._unicorn, self._reg = unicorn, arm_const
        self.uc: Any = unicorn.Uc(unicorn.UC_ARCH_ARM, unicorn.UC_MODE_THUMB | unicorn.UC_MODE_MCLASS)
        self.uc.ctl_set_cpu_model(arm_const.UC_CPU_ARM_CORTEX_M4)
        self.uc.mem_map(FLASH_BASE, _FLASH_SIZE)
        self.uc.mem_map(RAM_BASE, _RAM_SIZE)
        if nvm_bytes:
            self.uc.mem_map(NVM_BASE, -(-nvm_bytes // 4096) * 4096)
        _load_segments(self.uc, elf)
        table = _run(["arm-none-eabi-nm", "-S", str(elf)], elf.parent)
        self.sym = {k: v & ~1 for k, v in _symbols(elf).items()}
        self.sizes: dict[str, tuple[int, int]] = {}
        for line in table.splitlines():
            parts = line.split()
            if len(parts) == 4:
                self.sizes[parts[3]] = (int(parts[0], 16) & ~1, int(parts[1], 16))
        self.count = 0
        self._flush = False
        self._blocks: dict[tuple[int, int], int] = {}
        self.boot()

    def _on_block(self, uc: Any, address: int, size: int, _user: Any) -> None:
        n = self._blocks.get((address, size))
        if n is None:
            n = self._blocks[(address, size)] = _thumb_count(bytes(uc.mem_read(address, size)))
        self.count += n

    def boot(self) -> None:
        self.call("Reset_Handler")
        self.call("emu_init")

    def call(self, fn: str, limit: int = 0, count: bool = False) -> tuple[int, int, bool]:
        """Run ``fn(void)``: (r0, instructions counted, returned?) — ``limit`` > 0 stops the CPU after that
        many instructions (a power cut when ``fn`` has not returned by then)."""
        self.count = 0
        # unicorn instruments code when it translates it: translated blocks cached from an earlier run would
        # neither call a hook added now nor count towards ``limit``, so the cache goes whenever either is used
        if count or limit or self._flush:
            self.uc.ctl_flush_tb()
        self._flush = bool(count or limit)
        hook = self.uc.hook_add(self._unicorn.UC_HOOK_BLOCK, self._on_block) if count else None
        self.uc.reg_write(self._reg.UC_ARM_REG_SP, RAM_BASE + _RAM_SIZE)
        self.uc.reg_write(self._reg.UC_ARM_REG_LR, self.sym["emu_halt"] | 1)
        try:
            self.uc.emu_start(self.sym[fn] | 1, self.sym["emu_halt"], count=limit)
        finally:
            if hook is not None:
                self.uc.hook_del(hook)
        done = self.uc.reg_read(self._reg.UC_ARM_REG_PC) == self.sym["emu_halt"]
        return self.uc.reg_read(self._reg.UC_ARM_REG_R0), self.count, bool(done)

    def read(self, symbol: str, nbytes: int) -> bytes:
        return bytes(self.uc.mem_read(self.sym[symbol], nbytes))

    def write(self, symbol: str, data: bytes) -> None:
        self.uc.mem_write(self.sym[symbol], bytes(data))

    def u32(self, symbol: str) -> int:
        return int(struct.unpack("<I", self.read(symbol, 4))[0])

    def set_u32(self, symbol: str, value: int) -> None:
        self.write(symbol, struct.pack("<I", value & 0xFFFFFFFF))


# ---- the front end ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FrontEndEmulation:
    """The windows of :func:`emulate_frontend`, its final state blob and (when counted) instructions."""

    values: np.ndarray
    labels: np.ndarray
    end: np.ndarray
    blob: bytes
    restored_at: int | None
    instructions: int  # total counted over the stream (0 when not counted)
    windows_counted: int
    samples_counted: int
    library_size: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "windows": int(self.labels.shape[0]),
            "restored_at": self.restored_at,
            "instructions": self.instructions,
            "instructions_per_sample": self.instructions / max(self.samples_counted, 1),
            "library_size": self.library_size,
        }


def emulate_frontend(
    spec: FrontEndSpec,
    samples: np.ndarray,
    labels: np.ndarray | None = None,
    n_classes: int | None = None,
    restore_at: int | None = None,
    initial_blob: bytes | None = None,
    count: bool = False,
) -> FrontEndEmulation:
    """Stream raw int16 ``samples`` ``(n, channels)`` (and per-sample ``labels``) through the C front end on an
    emulated Cortex-M4.

    ``restore_at``: after that many samples the device saves its state blob, is powered off, boots fresh
    and loads the blob before it continues (a checkpoint inside a window when ``restore_at`` is not a
    multiple of the hop). ``initial_blob``: a state (e.g. Python's :func:`~edge_mesu.frontend.cblob.frontend_blob`)
    loaded before the first sample. ``count`` counts instructions (slower).
    """
    _check()
    x = np.ascontiguousarray(np.asarray(samples).reshape(-1, spec.channels), dtype="<i2")
    lab = np.full(x.shape[0], -1, dtype="<i4") if labels is None else np.ascontiguousarray(labels, dtype="<i4")
    n_out = spec.n_outputs
    maxw = _CHUNK // spec.decimate + 1
    values, wl, ends = [], [], []
    with tempfile.TemporaryDirectory(prefix="edge_mesu_emu_fe_") as tmp:
        elf = build_frontend_firmware(spec, Path(tmp), n_classes)
        size_text = _run(["arm-none-eabi-size", "-B", "fe.o"], Path(tmp)).splitlines()[1].split()[:3]
        dev = _Device(elf)
    state_bytes = dev.sizes.get("emu_blob", (0, 0))[1]
    if initial_blob is not None:
        dev.write("emu_blob", initial_blob)
        if dev.call("emu_load")[0] != 0:
            raise ValueError("the device refused the initial state blob")
    total = 0
    i = 0
    stops = sorted({x.shape[0], *([restore_at] if restore_at is not None else [])})
    for stop in stops:
        while i < stop:
            n = min(_CHUNK, stop - i)
            dev.write("emu_x", x[i : i + n].tobytes())
            dev.write("emu_lab", lab[i : i + n].tobytes())
            dev.set_u32("emu_n", n)
            dev.set_u32("emu_max", maxw)
            w, used, _ = dev.call("emu_push", count=count)
            total += used
            if dev.u32("emu_consumed") != n:
                raise RuntimeError("the emulated front end stopped early")
            if w:
                values.append(np.frombuffer(dev.read("emu_out", w * n_out), dtype=np.int8).reshape(w, n_out))
                wl.append(np.frombuffer(dev.read("emu_wl", 4 * w), dtype="<i4"))
                ends.append(np.frombuffer(dev.read("emu_end", 8 * w), dtype="<u8"))
            i += n
        if stop == restore_at and stop < x.shape[0]:
            dev.call("emu_save")
            blob = dev.read("emu_blob", state_bytes)
            dev.uc.mem_write(dev.sym["emu_blob"], b"\0" * state_bytes)
            dev.boot()  # power cycle: RAM re-initialised, the blob comes back from "flash"
            dev.write("emu_blob", blob)
            if dev.call("emu_load")[0] != 0:
                raise RuntimeError("the device refused its own state blob")
    dev.call("emu_save")
    blob = dev.read("emu_blob", state_bytes)
    cat = np.concatenate
    return FrontEndEmulation(
        values=cat(values) if values else np.zeros((0, n_out), dtype=np.int8),
        labels=cat(wl).astype(np.int64) if wl else np.zeros(0, dtype=np.int64),
        end=cat(ends).astype(np.int64) if ends else np.zeros(0, dtype=np.int64),
        blob=blob,
        restored_at=restore_at,
        instructions=total,
        windows_counted=sum(len(v) for v in values) if count else 0,
        samples_counted=x.shape[0] if count else 0,
        library_size=dict(zip(("text", "data", "bss"), map(int, size_text))),
    )


# ---- the A/B slots under power cuts -------------------------------------------------------------------------
@dataclass(frozen=True)
class PowerCutResult:
    """Outcome of :func:`power_cut_campaign`: how many cut points recovered which state."""

    points: int
    old: int
    new: int
    factory: int
    torn: int
    save_instructions: int  # an uninterrupted save, instructions
    hal_calls: int  # erase + program calls of an uninterrupted save
    cuts: list[tuple[int, str]] = field(default_factory=list)  # (instructions before the cut, outcome)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("points", "old", "new", "factory", "torn", "save_instructions")} | {
            "hal_calls": self.hal_calls
        }


def _cut_points(total: int, entries: list[int], last_call: tuple[int, int], points: int, seed: int) -> list[int]:
    """Cut after: the first instruction of every HAL call and the one after it, every instruction of the
    last program call (the magic), evenly spread points up to ``points`` in all, and a few random ones."""
    chosen = {e for e in entries} | {e + 1 for e in entries}
    chosen |= set(range(last_call[0], last_call[1] + 1))
    spread = max(points - len(chosen), 0)
    chosen |= {int(v) for v in np.linspace(1, total, spread + 2)[1:-1]}
    rng = np.random.default_rng(seed)
    chosen |= {int(v) for v in rng.integers(1, total, size=max(points // 10, 1))}
    return sorted(v for v in chosen if 0 < v <= total)


def power_cut_campaign(
    layout: SlotLayout,
    old: bytes,
    new: bytes,
    prior: bytes | None = b"",
    config_hash: int = 0x5EED5EED,
    points: int = 256,
    seed: int = 0,
) -> PowerCutResult:
    """Cut the power at ``points`` (or more) instants of an emulated save of ``new`` and check each reboot.

    Before each save the flash holds ``prior`` in one slot and ``old`` in the other (newest), written by the
    Python twin (``prior=None``: only ``old``; ``old=b""`` with ``prior=None``: blank flash, the first save).
    After the cut the device boots again and loads: ``new`` or ``old`` (``factory`` when there was none)
    count as recovered; anything else is ``torn``. Cut instants are instruction counts into the save.
    """
    _check()
    image = blank_image(layout)
    if prior is not None:
        write_slot(image, layout, prior, config_hash)
    if old or prior is not None:
        write_slot(image, layout, old, config_hash)
    had_old = not read_slots(image, layout, config_hash).factory
    with tempfile.TemporaryDirectory(prefix="edge_mesu_emu_slots_") as tmp:
        elf = build_slots_firmware(layout, config_hash, Path(tmp))
        dev = _Device(elf, nvm_bytes=layout.total_bytes)

    def start() -> None:
        dev.uc.mem_write(NVM_BASE, bytes(image))
        dev.boot()
        dev.call("emu_boot")
        dev.write("emu_buf", new)
        dev.set_u32("emu_len", len(new))

    # one uninterrupted save, instrumented: its length and where each HAL call starts
    hal = [dev.sizes[f] for f in ("ram_erase_page", "ram_program") if f in dev.sizes]
    entries: list[int] = []
    calls: list[int] = []
    counter = [0]

    def on_code(_uc: Any, address: int, _size: int, _user: Any) -> None:
        counter[0] += 1
        if any(address == a for a, _ in hal):
            entries.append(counter[0] - 1)
            calls.append(address)

    start()
    dev.uc.ctl_flush_tb()
    handle = dev.uc.hook_add(dev._unicorn.UC_HOOK_CODE, on_code)
    rc, _, done = dev.call("emu_save")
    dev.uc.hook_del(handle)
    total = counter[0]
    if not done or rc != 0:
        raise RuntimeError(f"an uninterrupted save failed (rc={rc})")
    if read_slots(bytes(dev.uc.mem_read(NVM_BASE, layout.total_bytes)), layout, config_hash).payload != new:
        raise RuntimeError("the uninterrupted save did not store the new state")
    last = entries[-1] if entries else 0
    magic_span = 25 * max(layout.prog_unit, 8) + 64  # the RAM HAL spends ~20 instructions per byte programmed
    cuts_at = _cut_points(total, entries, (last, min(total, last + magic_span)), points, seed)
    outcomes = {"old": 0, "new": 0, "factory": 0, "torn": 0}
    log: list[tuple[int, str]] = []
    for n in cuts_at:
        start()
        dev.call("emu_save", limit=n)  # the power goes after n instructions
        dev.boot()  # and comes back: RAM re-initialised, the NVM region is what the cut left
        rc, _, _ = dev.call("emu_boot")
        got = dev.read("emu_buf", dev.u32("emu_len")) if rc == 0 else None
        twin = read_slots(bytes(dev.uc.mem_read(NVM_BASE, layout.total_bytes)), layout, config_hash)
        if rc == 0 and got == new and twin.payload == new:
            kind = "new"
        elif rc == 0 and got == old and had_old and twin.payload == old:
            kind = "old"
        elif rc == 1 and not had_old and twin.factory:
            kind = "factory"
        else:
            kind = "torn"
        outcomes[kind] += 1
        log.append((n, kind))
    return PowerCutResult(
        points=len(cuts_at),
        old=outcomes["old"],
        new=outcomes["new"],
        factory=outcomes["factory"],
        torn=outcomes["torn"],
        save_instructions=total,
        hal_calls=len(calls),
        cuts=log,
    )


# ---- a packaged device library (edge_mesu.device.package) ---------------------------------------------------
_LIB_HARNESS = """/* Emulator harness of a packaged library: the device loop over the RAM HAL on the NVM region. */
#include "{lib}.h"
#include "emsu_flash_ram.h"
#define NVM ((uint8_t *)0x{nvm:08x}u)
static emsu_flash_ram_t ram;
static emsu_flash_hal_t hal;
{lib}_t emu_dev;
{lib}_result_t emu_res;
int16_t emu_x[{channels}];
int32_t emu_label;
void emu_init(void) {{ emsu_flash_ram_init(&ram, &hal, NVM, {size}u, {page}u, {unit}u); }}
int emu_boot(void) {{ return {lib}_boot(&emu_dev, &hal, 0u, {pages}u, {save_every}u); }}
int emu_push(void) {{ return {lib}_push(&emu_dev, emu_x, emu_label, &emu_res); }}
int emu_save(void) {{ return {lib}_save(&emu_dev); }}
"""


@dataclass(frozen=True)
class LibraryEmulation:
    """The windows of :func:`emulate_library` and what the power cuts during its saves left behind."""

    rows: list[Row]  # (end, pred, label, learned, saved, mi_q16, novel) per window
    boot: int  # the first boot's return code (1: factory)
    flash: bytes  # the slots' flash at the end
    cuts: list[tuple[int, int, str]] = field(default_factory=list)  # (sample index, instructions, outcome)
    push_instructions: int = 0  # counted over the stream when asked
    push_counts: np.ndarray | None = None  # instructions of each sample's push (count=True), int64 (n,)
    window_pushes: np.ndarray | None = None  # indices of the samples whose push completed a window
    object_sizes: dict[str, dict[str, int]] = field(default_factory=dict)  # text/data/bss of each src/*.o
    device_struct_bytes: int = 0  # sizeof the library's device struct (<lib>_t: its RAM besides .data/.bss)

    @property
    def torn(self) -> int:
        return sum(1 for c in self.cuts if c[2] == "torn")


def _result_row(dev: _Device, n_out: int) -> Row:
    raw = dev.read("emu_res", 8 + 4 + 4 + 4 * n_out + 4 * 4)
    end, label, pred = struct.unpack_from("<Qii", raw, 0)
    learned, saved, mi, novel = struct.unpack_from("<iiii", raw, 16 + 4 * n_out)
    return int(end), int(pred), int(label), int(learned), int(saved), int(mi), int(novel)


def emulate_library(
    root: Path,
    name: str,
    channels: int,
    n_out: int,
    layout: SlotLayout,
    config_hash: int,
    samples: np.ndarray,
    labels: np.ndarray,
    save_every: int,
    cut_at: tuple[int, ...] = (),
    cuts_per_save: int = 40,
    count: bool = False,
    save_at_end: bool = False,
) -> LibraryEmulation:
    """Cross-compile a library folder written by :func:`edge_mesu.device.package.write_library` (all of
    ``src/``) with a harness and run its device loop on an emulated Cortex-M4, one raw sample per call.

    ``layout`` is the example's slot geometry (``config_hash`` the library's, to read the flash with the
    Python twin). ``cut_at`` lists raw sample indices whose push saves the state (a window that completes
    ``save_every`` learning steps): before letting that push run, the power is cut ``cuts_per_save`` times
    at instants spread over it (from a snapshot of RAM and flash); each reboot must restore the state of
    the previous save or of this one (``cuts``: outcome "old", "new", "torn"; before the first save
    "factory"). ``count`` counts each push's instructions (``push_counts``, slower); ``save_at_end`` calls
    the library's save after the last sample (the flash then holds the final state).
    """
    _check()
    src = Path(root) / "src"
    files = {p.name: p.read_text(encoding="utf-8") for p in src.iterdir() if p.suffix in (".c", ".h")}
    harness = _LIB_HARNESS.format(
        lib=name,
        nvm=NVM_BASE,
        channels=channels,
        size=layout.total_bytes,
        page=layout.page_bytes,
        unit=layout.prog_unit,
        pages=layout.slot_pages,
        save_every=save_every,
    )
    objects = [p[:-2] for p in files if p.endswith(".c")]
    with tempfile.TemporaryDirectory(prefix="edge_mesu_emu_lib_") as tmp:
        elf = _build({**files, "harness.c": harness}, objects, Path(tmp))
        dev = _Device(elf, nvm_bytes=layout.total_bytes)
        sizes = {o: _size(Path(tmp) / f"{o}.o", Path(tmp)) for o in sorted(objects)}
    dev.uc.mem_write(NVM_BASE, b"\xff" * layout.total_bytes)
    boot = int(np.int32(np.uint32(dev.call("emu_boot")[0])))
    x = np.ascontiguousarray(samples, dtype="<i2").reshape(-1, channels)
    lab = np.asarray(labels, dtype=np.int64)
    rows: list[Row] = []
    cuts: list[tuple[int, int, str]] = []
    pushed = 0
    counts = np.zeros(x.shape[0], dtype=np.int64) if count else None
    windows: list[int] = []
    for i in range(x.shape[0]):
        dev.write("emu_x", x[i].tobytes())
        dev.set_u32("emu_label", int(lab[i]))
        if i in cut_at:
            cuts += _cut_a_save(dev, layout, config_hash, i, cuts_per_save)
        done, n, _ = dev.call("emu_push", count=count)
        pushed += n
        if counts is not None:
            counts[i] = n
        if done:
            rows.append(_result_row(dev, n_out))
            windows.append(i)
    if save_at_end and dev.call("emu_save")[0] != 0:
        raise RuntimeError("the emulated library's final save failed")
    return LibraryEmulation(
        rows=rows,
        boot=boot,
        flash=bytes(dev.uc.mem_read(NVM_BASE, layout.total_bytes)),
        cuts=cuts,
        push_instructions=pushed,
        push_counts=counts,
        window_pushes=np.asarray(windows, dtype=np.int64),
        object_sizes=sizes,
        device_struct_bytes=dev.sizes.get("emu_dev", (0, 0))[1],
    )


def _cut_a_save(dev: _Device, layout: SlotLayout, config_hash: int, index: int, points: int) -> list:
    """Snapshot, then for each cut instant: run this push (which saves) for n instructions, reboot, check."""
    ram = bytes(dev.uc.mem_read(RAM_BASE, _RAM_SIZE))
    nvm = bytes(dev.uc.mem_read(NVM_BASE, layout.total_bytes))
    ctx = dev.uc.context_save()
    before = read_slots(nvm, layout, config_hash)
    _, total, done = dev.call("emu_push", count=True)
    after = read_slots(bytes(dev.uc.mem_read(NVM_BASE, layout.total_bytes)), layout, config_hash)
    if not done or after.seq == before.seq:
        raise ValueError(f"the push of sample {index} does not save the state: not a cut point")
    out = []
    for n in sorted({int(v) for v in np.linspace(1, total, points + 2)[1:-1]}):
        dev.uc.mem_write(RAM_BASE, ram)
        dev.uc.mem_write(NVM_BASE, nvm)
        dev.uc.context_restore(ctx)
        dev.call("emu_push", limit=n)  # power cut after n instructions
        dev.boot()
        rc = int(np.int32(np.uint32(dev.call("emu_boot")[0])))
        got = read_slots(bytes(dev.uc.mem_read(NVM_BASE, layout.total_bytes)), layout, config_hash)
        if rc == 0 and got.payload == after.payload:
            kind = "new"
        elif rc == 0 and not before.factory and got.payload == before.payload:
            kind = "old"
        elif rc == 1 and before.factory and got.factory:
            kind = "factory"
        else:
            kind = "torn"
        out.append((index, n, kind))
    dev.uc.mem_write(RAM_BASE, ram)  # back to the snapshot: the stream continues as if nothing happened
    dev.uc.mem_write(NVM_BASE, nvm)
    dev.uc.context_restore(ctx)
    return out
