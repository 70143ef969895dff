"""Device profiles: flash, SRAM, clock and a cycle-cost table, read from TOML files.

The shipped profiles live in ``firmware_sim/devices/*.toml``; each number there carries its source (a
datasheet, a core's technical reference manual) or says "estimate". A user profile is any TOML file with
the same keys (copy a shipped one). Errors name the file and the key. Every key is required except the
costs of :data:`COST_DEFAULTS`, which take another cost's value when absent (``alu_update_lrt``: ``alu``).

Example
-------
>>> dev = load_device("stm32l4")
>>> dev.clock_hz, dev.sram_bytes
(80000000.0, 131072)
>>> "rp2040" in list_devices()
True
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["COST_DEFAULTS", "COST_KEYS", "Device", "FlashWrite", "list_devices", "load_device", "parse_device"]

COST_KEYS = (
    "mac_int8",
    "mac_int8_simd",
    "mac_int16",
    "mac_int16_simd",
    "mac_float",
    "mul",
    "mul_float",
    "alu",
    "alu_update_lrt",
    "alu_float",
    "load_store",
    "prng_draw",
    "lut_lookup",
    "exp",
    "exp_float",
    "div",
    "div_float",
    "call",
)

#: optional cost keys -> the cost they default to when a profile leaves them out. ``alu_update_lrt``: the
#: ALU work of the local-reparameterisation update (op kind ``alu_update_lrt``), whose per-parameter count
#: is calibrated on the Cortex-M4; a core whose LRT update takes relatively fewer instructions sets its own.
COST_DEFAULTS: dict[str, str] = {"alu_update_lrt": "alu"}
_DEFAULTS: dict[str, dict[str, str]] = {"costs": COST_DEFAULTS}

# section -> key -> (kind, must be > 0); kind is "int", "num", "bool" or "str"
_SCHEMA: dict[str, dict[str, tuple[str, bool]]] = {
    "": {"name": ("str", True), "description": ("str", False), "cpu": ("str", True)},
    "memory": {"flash_bytes": ("int", True), "sram_bytes": ("int", True), "stack_bytes": ("int", False)},
    "core": {"clock_hz": ("num", True), "simd": ("bool", False), "fpu": ("bool", False), "code_density": ("num", True)},
    "costs": {k: ("num", False) for k in COST_KEYS},
    "flash_write": {
        "page_bytes": ("int", True),
        "erase_us_per_page": ("num", False),
        "program_us_per_byte": ("num", False),
        "endurance_cycles": ("int", True),
    },
    "power": {
        "supply_v": ("num", True),
        "run_ua_per_mhz": ("num", True),
        "sleep_ua": ("num", False),
    },
}
_OPTIONAL_SECTIONS = ("flash_write", "power")


@dataclass(frozen=True)
class FlashWrite:
    """What persisting bytes to the device's flash costs (erase unit, timings, endurance)."""

    page_bytes: int
    erase_us_per_page: float
    program_us_per_byte: float
    endurance_cycles: int

    def persist_us(self, nbytes: int) -> float:
        """Microseconds to erase the pages holding ``nbytes`` and program them."""
        pages = math.ceil(nbytes / self.page_bytes)
        return pages * self.erase_us_per_page + nbytes * self.program_us_per_byte


@dataclass(frozen=True)
class Power:
    """The core's supply: volts, run current per MHz (code from flash) and the sleep current between windows
    (RAM retained, a wake-up timer running) — datasheet figures, cited in the profile."""

    supply_v: float
    run_ua_per_mhz: float
    sleep_ua: float

    def run_ua(self, clock_hz: float) -> float:
        """Run current in µA at ``clock_hz``."""
        return self.run_ua_per_mhz * clock_hz / 1e6


@dataclass(frozen=True)
class Device:
    """A microcontroller: memory budgets, clock and cycles per operation (see ``COST_KEYS``)."""

    name: str
    description: str
    cpu: str
    flash_bytes: int
    sram_bytes: int
    stack_bytes: int
    clock_hz: float
    simd: bool
    fpu: bool
    code_density: float
    costs: Mapping[str, float] = field(repr=False)
    flash_write: FlashWrite | None = None
    source: str = "<memory>"
    power: Power | None = None

    def cycles_to_us(self, cycles: float) -> float:
        """Convert a cycle count at this device's clock to microseconds."""
        return cycles * 1e6 / self.clock_hz


def _check_value(value: Any, kind: str, positive: bool, where: str) -> Any:
    if kind == "str":
        if not isinstance(value, str) or (positive and not value):
            raise ValueError(f"{where} must be a non-empty string, got {value!r}")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{where} must be true or false, got {value!r}")
        return value
    ok_type = isinstance(value, int) if kind == "int" else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type:
        wanted = "an integer" if kind == "int" else "a number"
        raise ValueError(f"{where} must be {wanted}, got {value!r} ({type(value).__name__})")
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise ValueError(f"{where} must be {'> 0' if positive else '>= 0'} and finite, got {value!r}")
    return value


def _section(data: dict, name: str, source: str) -> dict[str, Any]:
    table = data if name == "" else data.get(name)
    label = "top level" if name == "" else f"[{name}]"
    if not isinstance(table, dict):
        raise ValueError(f"{source}: missing section [{name}]")
    schema = _SCHEMA[name]
    allowed = set(schema) | (set(_SCHEMA) - {""} if name == "" else set())
    defaults = _DEFAULTS.get(name, {})
    unknown = sorted(set(table) - allowed)
    if unknown:
        optional = "".join(f"; optional: '{k}' (default: the '{v}' value)" for k, v in defaults.items())
        raise ValueError(f"{source}: unknown key(s) {unknown} in {label}; expected {sorted(allowed)}{optional}")
    out = {}
    for key, (kind, positive) in schema.items():
        if key not in table:
            if name == "" and key == "description":
                out[key] = ""
                continue
            if key in defaults:
                continue
            raise ValueError(f"{source}: missing key '{key}' in {label}")
        out[key] = _check_value(table[key], kind, positive, f"{source}: {label} '{key}'")
    for key, default in defaults.items():
        out.setdefault(key, out[default])
    return out


def parse_device(data: dict, source: str = "<dict>") -> Device:
    """Build a :class:`Device` from a parsed TOML document, validating every key."""
    top = _section(data, "", source)
    mem = _section(data, "memory", source)
    core = _section(data, "core", source)
    costs = _section(data, "costs", source)
    flash_write = None
    if "flash_write" in data:
        flash_write = FlashWrite(**_section(data, "flash_write", source))
    power = Power(**{k: float(v) for k, v in _section(data, "power", source).items()}) if "power" in data else None
    return Device(
        name=top["name"],
        description=top["description"],
        cpu=top["cpu"],
        flash_bytes=mem["flash_bytes"],
        sram_bytes=mem["sram_bytes"],
        stack_bytes=mem["stack_bytes"],
        clock_hz=float(core["clock_hz"]),
        simd=core["simd"],
        fpu=core["fpu"],
        code_density=float(core["code_density"]),
        costs=MappingProxyType({k: float(v) for k, v in costs.items()}),
        flash_write=flash_write,
        source=source,
        power=power,
    )


def _shipped() -> dict[str, Any]:
    folder = resources.files("firmware_sim") / "devices"
    return {entry.name[:-5]: entry for entry in folder.iterdir() if entry.name.endswith(".toml")}


def list_devices() -> list[str]:
    """Names of the shipped device profiles."""
    return sorted(_shipped())


def _read_toml(text: str, source: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{source}: not valid TOML ({exc})") from None


def load_device(name_or_path: str | os.PathLike | Device) -> Device:
    """Load a shipped profile by name (see :func:`list_devices`) or a TOML file by path.

    Raises
    ------
    ValueError
        Unknown name (the message lists the known ones), unreadable file, or a malformed profile (the
        message names the file and the key).
    """
    if isinstance(name_or_path, Device):
        return name_or_path
    text = os.fspath(name_or_path)
    shipped = _shipped()
    if text in shipped:
        return parse_device(_read_toml(shipped[text].read_text(encoding="utf-8"), f"{text}.toml"), f"{text}.toml")
    path = Path(text)
    if path.suffix == ".toml" or path.is_file() or os.sep in text:
        try:
            content = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"cannot read device profile {text}: {exc.strerror or exc}") from None
        return parse_device(_read_toml(content, text), text)
    raise ValueError(
        f"unknown device {text!r}; known devices: {', '.join(sorted(shipped))} (or give the path of a .toml profile)"
    )
