"""matplotlib for the commands' ``--plot`` options: checked before the work, figures written atomically."""

from __future__ import annotations

import io
import os
from typing import Any

from edge_mesu.errors import MissingExtraError
from edge_mesu.statefile import atomic_write_bytes

__all__ = ["pyplot", "require_matplotlib", "save_png"]


def require_matplotlib(feature: str) -> None:
    """Raise :class:`MissingExtraError` (naming the ``plot`` extra) unless matplotlib imports."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise MissingExtraError(feature, "plot", "matplotlib") from None


def pyplot(feature: str = "plotting") -> Any:
    """``matplotlib.pyplot`` on the non-interactive Agg backend."""
    require_matplotlib(feature)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig: Any, path: str | os.PathLike, dpi: int = 120) -> None:
    """Write ``fig`` as a PNG at ``path`` atomically (never a half-written file) and close it."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=dpi)
    finally:
        plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
