"""Report records every exporter returns: what was written, its operators and tensor formats."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["TensorFormat", "ExportReport", "summarise_quant"]


def summarise_quant(scale: object, zero_point: object, axis: int | None = None) -> str:
    """Summary of a quantisation: ``scale=0.0123 zp=-5`` or ``per-channel(50, axis 0) scale∈[a, b] zp=0``."""
    s = np.atleast_1d(np.asarray(scale, dtype=np.float64))
    z = np.atleast_1d(np.asarray(zero_point, dtype=np.int64))
    if s.size == 1:
        return f"scale={s[0]:.6g} zp={int(z[0])}"
    zps = f"zp={int(z[0])}" if np.all(z == z[0]) else f"zp∈[{int(z.min())}, {int(z.max())}]"
    where = "" if axis is None else f", axis {axis}"
    return f"per-channel({s.size}{where}) scale∈[{s.min():.4g}, {s.max():.4g}] {zps}"


@dataclass(frozen=True)
class TensorFormat:
    """One tensor of an artefact: name, element type, shape (−1 = batch) and quantisation summary."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    quant: str = "float"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape), "quant": self.quant}


@dataclass(frozen=True)
class ExportReport:
    """What an exporter wrote. ``details`` holds format-specific facts (opset, rounding, validation)."""

    format: str
    path: str
    size_bytes: int
    ops: tuple[str, ...]
    tensors: tuple[TensorFormat, ...]
    export_seconds: float
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "path": self.path,
            "size_bytes": self.size_bytes,
            "ops": list(self.ops),
            "tensors": [t.to_dict() for t in self.tensors],
            "export_seconds": self.export_seconds,
            "details": _jsonable(self.details),
        }

    def format_text(self) -> str:
        """Multi-line human-readable summary (what the CLI prints)."""
        lines = [
            f"{self.format}: {self.path} ({self.size_bytes:,} bytes, exported in {self.export_seconds * 1e3:.1f} ms)",
            f"  ops: {', '.join(self.ops)}",
        ]
        for key, value in self.details.items():
            if isinstance(value, dict):
                lines.append(f"  {key}:")
                lines.extend(f"    {k}: {v}" for k, v in value.items())
            else:
                lines.append(f"  {key}: {value}")
        if not self.tensors:
            return "\n".join(lines)
        lines.append("  tensors:")
        width = max((len(t.name) for t in self.tensors), default=4)
        for t in self.tensors:
            shape = "x".join("?" if d < 0 else str(d) for d in t.shape) or "scalar"
            lines.append(f"    {t.name:<{width}}  {t.dtype:<8} {shape:<12} {t.quant}")
        return "\n".join(lines)


def _jsonable(value: object) -> object:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value
