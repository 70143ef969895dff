"""Fixed-point formats as data: bits, fractional bits and signedness, never implied by scattered shifts.

A value v is stored as the integer q = round(v · 2**frac) in ``bits`` bits. ``QFormat(16, 12)`` is "Q3.12"
in the ARM convention used by :meth:`QFormat.qstring`: the sign bit is *not* counted in the integer bits.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

__all__ = ["QFormat", "Rounding", "SaturationCounter"]

_COUNTER_MAX = 2**32 - 1


class Rounding(enum.Enum):
    """How a value with more fractional bits than its destination is rounded."""

    NEAREST_EVEN = "nearest_even"  # round half to even: unbiased on ties, deterministic
    STOCHASTIC = "stochastic"  # round up with probability equal to the dropped fraction: unbiased in expectation


class SaturationCounter:
    """Named counters of saturation events; they saturate at 2**32−1 instead of wrapping.

    >>> c = SaturationCounter(); c.add("mu", 3); c.add("mu", 2); c["mu"]
    5
    """

    def __init__(self, counts: dict[str, int] | None = None) -> None:
        self._counts: dict[str, int] = dict(counts or {})

    def add(self, name: str, n: int) -> None:
        if n:
            self._counts[name] = min(_COUNTER_MAX, self._counts.get(name, 0) + int(n))

    def __getitem__(self, name: str) -> int:
        return self._counts.get(name, 0)

    def as_dict(self) -> dict[str, int]:
        return dict(sorted(self._counts.items()))

    def total(self) -> int:
        return min(_COUNTER_MAX, sum(self._counts.values()))

    def copy(self) -> SaturationCounter:
        return SaturationCounter(self._counts)

    def merge(self, other: SaturationCounter) -> None:
        """Add every count of ``other`` to this counter."""
        for name, n in other._counts.items():
            self.add(name, n)


@dataclass(frozen=True)
class QFormat:
    """A binary fixed-point format.

    Parameters
    ----------
    bits : total storage bits including the sign bit (2..32).
    frac : fractional bits (0..62); may exceed ``bits`` for formats of tiny values.
    signed : two's complement if True.

    >>> f = QFormat(16, 12)
    >>> f.qstring, f.min_int, f.max_int, f.lsb
    ('Q3.12', -32768, 32767, 0.000244140625)
    >>> f.quantize([0.5, 100.0]).tolist()   # saturates at the top of the range
    [2048, 32767]
    """

    bits: int
    frac: int
    signed: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.bits, bool) or not isinstance(self.bits, int) or not 2 <= self.bits <= 32:
            raise ValueError(f"QFormat.bits must be an integer in [2, 32], got {self.bits!r}")
        if isinstance(self.frac, bool) or not isinstance(self.frac, int) or not 0 <= self.frac <= 62:
            raise ValueError(f"QFormat.frac must be an integer in [0, 62], got {self.frac!r}")

    @property
    def min_int(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def max_int(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    @property
    def lsb(self) -> float:
        return 2.0**-self.frac

    @property
    def min_value(self) -> float:
        return self.min_int * self.lsb

    @property
    def max_value(self) -> float:
        return self.max_int * self.lsb

    @property
    def dtype(self) -> np.dtype:
        """The smallest numpy integer type that holds the format."""
        for width in (8, 16, 32):
            if self.bits <= width:
                return np.dtype(f"{'int' if self.signed else 'uint'}{width}")
        raise AssertionError("bits validated to <= 32")

    @property
    def c_type(self) -> str:
        return f"{self.dtype.name}_t"

    @property
    def qstring(self) -> str:
        """Human-readable 'Qm.n' (sign bit not counted; 'UQm.n' for unsigned)."""
        int_bits = self.bits - self.frac - (1 if self.signed else 0)
        return f"{'' if self.signed else 'U'}Q{int_bits}.{self.frac}"

    def to_dict(self) -> dict:
        return {"bits": self.bits, "frac": self.frac, "signed": self.signed}

    @classmethod
    def from_dict(cls, d: dict) -> QFormat:
        return cls(bits=int(d["bits"]), frac=int(d["frac"]), signed=bool(d["signed"]))

    def saturate(self, q: np.ndarray, counter: SaturationCounter | None = None, name: str = "") -> np.ndarray:
        """Clip integers into range (int64 out); count clipped elements in ``counter[name]``."""
        q = np.asarray(q, dtype=np.int64)
        if q.size == 0 or (q.min() >= self.min_int and q.max() <= self.max_int):
            return q  # nothing to clip (the common case: two reductions instead of a compare and a clip)
        if counter is not None:
            counter.add(name, int(np.count_nonzero((q < self.min_int) | (q > self.max_int))))
        return np.clip(q, self.min_int, self.max_int)

    def quantize(self, x: object, counter: SaturationCounter | None = None, name: str = "") -> np.ndarray:
        """Round floats to this format (nearest, ties to even) and saturate; returns ``self.dtype``."""
        x = np.asarray(x, dtype=np.float64)
        if not np.all(np.isfinite(x)):
            raise ValueError(f"cannot quantize non-finite values to {self.qstring}")
        scaled = np.clip(np.rint(x * 2.0**self.frac), -(2.0**62), 2.0**62)  # rint: ties to even
        return self.saturate(scaled.astype(np.int64), counter, name).astype(self.dtype)

    def dequantize(self, q: object) -> np.ndarray:
        """Integers of this format to float64."""
        return np.asarray(q, dtype=np.float64) * self.lsb
