"""How two int8 runtimes' outputs differ on the same inputs (rows, values, largest difference in LSB)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Disagreement"]


@dataclass(frozen=True)
class Disagreement:
    """How TFLM's int8 outputs differ from another runtime's on the same ``rows`` inputs."""

    other: str
    rows: int
    rows_differ: int
    logits_differ: int
    probs_differ: int
    max_lsb_logits: int
    max_lsb_probs: int

    @classmethod
    def between(cls, other: str, tflm: dict[str, np.ndarray], got: dict[str, np.ndarray]) -> Disagreement:
        dl = np.abs(tflm["logits"].astype(np.int64) - got["logits"].astype(np.int64))
        dp = np.abs(tflm["probs"].astype(np.int64) - got["probs"].astype(np.int64))
        return cls(
            other,
            int(dl.shape[0]),
            int(np.sum(np.any(dl > 0, axis=1) | np.any(dp > 0, axis=1))),
            int(np.count_nonzero(dl)),
            int(np.count_nonzero(dp)),
            int(dl.max(initial=0)),
            int(dp.max(initial=0)),
        )

    @property
    def exact(self) -> bool:
        return self.rows_differ == 0

    def summary(self) -> str:
        """``"30/10000 rows differ (logits: 30 values, max 1 LSB; probs: 2 values, max 1 LSB)"``."""
        if self.exact:
            return f"{self.rows}/{self.rows} rows bit-exact"
        return (
            f"{self.rows_differ}/{self.rows} rows differ (logits: {self.logits_differ} values, max "
            f"{self.max_lsb_logits} LSB; probs: {self.probs_differ} values, max {self.max_lsb_probs} "
            "LSB)"
        )
