"""Measurements that replace firmware_sim's model where it has them: a firmware run on an emulated core.

:class:`Measured` holds what ``edge-mesu emulate --json`` (:func:`firmware_sim.firmware_run.run_firmware`)
measured: instructions per window of the front end, predict, uncertainty and learn, and the library's flash and RAM.
:func:`firmware_sim.simulate` then budgets those (instructions × the core's CPI, which stays modelled;
the state slots in flash and the stack stay modelled) and marks each figure ``measured`` or ``modelled``.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from typing import Any

__all__ = ["Measured", "load_measured"]

EMULATED_CORE = "cortex-m4"


@dataclass(frozen=True)
class Measured:
    """Instructions per window by pass, and bytes, measured on an emulated ``core``; ``source`` says where."""

    frontend: float
    predict: float
    learn: float
    flash_bytes: int
    ram_bytes: int
    core: str = EMULATED_CORE
    source: str = "<memory>"
    uncertainty: float = 0.0  # the per-window uncertainty step (0: none, or a run from before it existed)

    @classmethod
    def from_run(cls, run: dict[str, Any], source: str = "<dict>") -> Measured:
        """From :meth:`FirmwareRun.to_dict` (the JSON of ``edge-mesu emulate``); ``ValueError`` names what is
        missing or not a finite number >= 0, and refuses a run that was not bit-exact."""
        try:
            ipw, mem = run["instructions_per_window"], run["memory"]["measured"]
            values = {
                "frontend": ipw["front_end"],
                "predict": ipw["predict"],
                "learn": ipw["learn"],
                "flash_bytes": mem["flash"],
                "ram_bytes": mem["ram"],
                "uncertainty": ipw.get("uncertainty") or 0.0,
            }
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{source}: not the JSON of 'edge-mesu emulate' (missing {exc})") from None
        for key, value in values.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{source}: {key} must be a number >= 0, got {value!r}")
        if run.get("bit_exact") is not True:
            raise ValueError(f"{source}: that firmware run was not bit-exact with Python: its figures are not used")
        return cls(
            frontend=float(values["frontend"]),
            predict=float(values["predict"]),
            learn=float(values["learn"]),
            flash_bytes=int(values["flash_bytes"]),
            ram_bytes=int(values["ram_bytes"]),
            source=source,
            uncertainty=float(values["uncertainty"]),
        )


def load_measured(path: str | os.PathLike) -> Measured:
    """:class:`Measured` from the JSON file ``edge-mesu emulate --json`` wrote; ``ValueError`` naming the path."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise ValueError(f"cannot read {os.fspath(path)}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{os.fspath(path)}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{os.fspath(path)}: not the JSON of 'edge-mesu emulate'")
    return Measured.from_run(data, os.fspath(path))
