"""The device's uncertainty-step options, shared by ``export --firmware`` and ``emulate``: one definition
of ``--uncertainty-samples``, ``--uncertainty-windows`` and ``--novelty-threshold`` and of their checks."""

from __future__ import annotations

import argparse


def add_uncertainty_arguments(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """Add the three options to ``p``."""
    p.add_argument(
        "--uncertainty-samples",
        dest="uncertainty_samples",
        type=int,
        default=None,
        help="weight samples of the device's per-window mutual information (default: the state's "
        "uncertainty_samples, 8 for a new pipeline; 0: no uncertainty step; at most 32)",
    )
    p.add_argument(
        "--uncertainty-windows",
        dest="uncertainty_windows",
        choices=("all", "unlabelled"),
        default="all",
        help="windows the device scores: all (default) or only those without a label (a labelled window is "
        "learned: its mutual information decides nothing, and skipping it saves the step's energy)",
    )
    p.add_argument(
        "--novelty-threshold",
        dest="novelty_threshold",
        type=float,
        default=None,
        metavar="BITS",
        help="the device's novelty flag: mutual information >= BITS (default 0.125, chosen on the demo's stream; "
        "see docs/device.md)",
    )


def check_uncertainty_options(args: argparse.Namespace) -> None:
    """Refuse a bad ``--uncertainty-samples`` or ``--novelty-threshold`` (``ValueError`` naming the value)."""
    from edge_mesu.device.package import novelty_q16
    from edge_mesu.fixed.entropy import MAX_UNCERTAINTY_SAMPLES

    k = args.uncertainty_samples
    if k is not None and not (k == 0 or 2 <= k <= MAX_UNCERTAINTY_SAMPLES):
        raise ValueError(f"--uncertainty-samples must be 0 (none) or in [2, {MAX_UNCERTAINTY_SAMPLES}], got {k}")
    if args.novelty_threshold is not None:
        try:
            novelty_q16(args.novelty_threshold)
        except ValueError:
            raise ValueError(f"--novelty-threshold must be in [0, 16) bits, got {args.novelty_threshold}") from None
