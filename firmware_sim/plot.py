"""Optional plot of a replay: lateness per processed sample and the waiting line seen by each arrival.

matplotlib is an optional dependency (``pip install edge-mesu[plot]``); it is imported only here, when a
plot is asked for.
"""

from __future__ import annotations

import os

from .report import SimReport

__all__ = ["plot_report"]


def plot_report(report: SimReport, path: str | os.PathLike) -> None:
    """Write a two-panel PNG of ``report``'s replay to ``path``.

    Raises
    ------
    ImportError
        matplotlib is not installed (the message says how to install it).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            "plotting needs matplotlib, which is not installed: pip install 'edge-mesu[plot]' (or matplotlib)"
        ) from None
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 5), sharex=False)
    ax1.plot([1e3 * v for v in report.lateness_s], lw=0.8)
    ax1.axhline(0.0, color="red", lw=0.8, ls="--")
    ax1.set_ylabel("finish - deadline (ms)")
    ax1.set_title(
        f"{report.device}, {report.mode} at {report.rate_hz:g} Hz: "
        f"{report.deadline_misses} misses, {report.dropped} dropped"
    )
    ax2.step(range(len(report.waiting)), report.waiting, where="post", lw=0.8)
    ax2.axhline(report.queue, color="red", lw=0.8, ls="--")
    ax2.set_ylabel("waiting at arrival")
    ax2.set_xlabel("sample")
    fig.tight_layout()
    fig.savefig(os.fspath(path), dpi=100)
    plt.close(fig)
