"""The sensor front end's settings as data: one frozen record, validated once, with its integer constants.

A :class:`FrontEndSpec` says what the device runs before the learner: windows of ``window`` raw samples
every ``hop`` samples over ``channels`` int16 channels, optional decimation by averaging blocks of
``decimate`` samples, a per-channel running normaliser (time constant ``2**tau_log2`` decimated samples),
a clip at ``±clip`` standard deviations, and either the normalised window itself or four features per
channel, as int8 integers with ``out_frac`` fractional bits (the learner's input format). Everything
float-derived (clip bounds, the σ floor) is turned into integers here, once; see
:mod:`edge_mesu.frontend.normalise` for the arithmetic and ``docs/frontend.md`` for the reasons.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from ..fixed.qformat import QFormat

__all__ = [
    "FrontEndSpec",
    "LabelRule",
    "MEAN_FRAC",
    "DEV_FRAC",
    "VAR_FRAC",
    "STD_FRAC",
    "INV_SHIFT",
    "FEAT_FRAC",
    "FEATURES",
]

MEAN_FRAC = 16  # running mean: counts · 2**16 (fits int32: |mean| <= 2**15 counts)
DEV_FRAC = 8  # deviation x − mean used for the variance and the output: counts · 2**8 (|d| < 2**25)
VAR_FRAC = 16  # running variance: counts² · 2**16 (int64; < 2**50)
STD_FRAC = 8  # standard deviation: counts · 2**8 (rounded integer square root of the variance)
INV_SHIFT = 34  # reciprocal of the std: round(2**34 / σ8), < 2**31 for σ8 >= 16 (min_std >= 1/16): fits int32
FEAT_FRAC = 8  # normalised samples inside the feature computation: standard deviations · 2**8
FEATURES = ("mean", "rms", "min", "max")  # per channel, in this order, channel-major


class LabelRule(enum.Enum):
    """How a window's label is chosen from the labels of its raw samples (missing labels are ignored)."""

    LAST = "last"  # the label of the window's last sample (missing if that one is missing)
    MAJORITY = "majority"  # the most frequent label among labelled samples; ties go to the smallest class


def _int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"FrontEndSpec.{name} must be an integer in [{low}, {high}], got {value!r}")
    return value


@dataclass(frozen=True)
class FrontEndSpec:
    """Settings of the sensor front end (immutable; compared by value).

    Parameters
    ----------
    channels : number of int16 input channels.
    window : raw samples per window.
    hop : raw samples between the ends of consecutive windows (default: ``window``, no overlap).
    decimate : average blocks of this many raw samples first (1: off); must divide ``window`` and ``hop``.
    features : emit (mean, RMS, min, max) of each channel's normalised window instead of the window.
    tau_log2 : the normaliser forgets with time constant ``2**tau_log2`` decimated samples.
    warmup : no window ends before this many raw samples have been seen (its statistics are too young).
    clip : normalised values are clipped to ``±clip`` standard deviations (then saturated to int8).
    min_std : floor of the normaliser's standard deviation, in counts (keeps dead channels finite).
    out_frac : fractional bits of the int8 output (the learner's ``input_frac``; 5: ±4 in steps of 1/32).
    label_rule : :class:`LabelRule` or its value, ``"last"`` or ``"majority"``.

    Examples
    --------
    >>> s = FrontEndSpec(channels=3, window=32, hop=16)
    >>> s.n_outputs, s.frames, s.out_fmt.qstring, s.clip_q
    (96, 32, 'Q2.5', 96)
    >>> FrontEndSpec(channels=3, window=32, features=True).n_outputs
    12
    >>> FrontEndSpec(channels=3, window=30, decimate=4)
    Traceback (most recent call last):
    ...
    ValueError: FrontEndSpec: decimate 4 must divide window 30 and hop 30
    """

    channels: int
    window: int
    hop: int | None = None
    decimate: int = 1
    features: bool = False
    tau_log2: int = 14
    warmup: int = 0
    clip: float = 3.0
    min_std: float = 1.0
    out_frac: int = 5
    label_rule: LabelRule | str = LabelRule.LAST

    def __post_init__(self) -> None:
        _int("channels", self.channels, 1, 1024)
        _int("window", self.window, 1, 1 << 20)
        if self.hop is None:
            object.__setattr__(self, "hop", self.window)
        _int("hop", self.hop, 1, 1 << 20)
        _int("decimate", self.decimate, 1, 1 << 12)
        if self.window % self.decimate or self.hop_samples % self.decimate:
            raise ValueError(
                f"FrontEndSpec: decimate {self.decimate} must divide window {self.window} and hop {self.hop}"
            )
        if not isinstance(self.features, bool):
            raise ValueError(f"FrontEndSpec.features must be True or False, got {self.features!r}")
        _int("tau_log2", self.tau_log2, 0, 24)
        _int("warmup", self.warmup, 0, 1 << 40)
        _int("out_frac", self.out_frac, 0, 7)
        for name, low, high in (("clip", 0.0, 64.0), ("min_std", 1.0 / 16, 32768.0)):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or not low < value <= high
            ):
                raise ValueError(f"FrontEndSpec.{name} must be a number in ({low:g}, {high:g}], got {value!r}")
            object.__setattr__(self, name, float(value))
        try:
            object.__setattr__(self, "label_rule", LabelRule(self.label_rule))
        except ValueError:
            raise ValueError(f"FrontEndSpec.label_rule must be 'last' or 'majority', got {self.label_rule!r}") from None

    # -- derived quantities (all integers) --------------------------------------------------------------------
    @property
    def frames(self) -> int:
        """Decimated samples per window."""
        return self.window // self.decimate

    @property
    def hop_samples(self) -> int:
        """Raw samples between window ends (``hop``, which defaults to ``window``)."""
        return self.window if self.hop is None else self.hop

    @property
    def frame_hop(self) -> int:
        """Decimated samples between window ends."""
        return self.hop_samples // self.decimate

    @property
    def n_outputs(self) -> int:
        """Length of one output vector: the learner's input size."""
        return len(FEATURES) * self.channels if self.features else self.frames * self.channels

    @property
    def out_fmt(self) -> QFormat:
        """The int8 output format (``QFormat(8, out_frac)``)."""
        return QFormat(8, self.out_frac)

    @property
    def clip_q(self) -> int:
        """The clip bound in output LSBs, round(clip · 2**out_frac) (then int8 saturation applies)."""
        return round(self.clip * (1 << self.out_frac))

    @property
    def clip_feat(self) -> int:
        """The clip bound inside the feature computation, round(clip · 2**FEAT_FRAC)."""
        return round(self.clip * (1 << FEAT_FRAC))

    @property
    def min_std_q(self) -> int:
        """The σ floor at STD_FRAC, round(min_std · 2**8) (>= 16)."""
        return round(self.min_std * (1 << STD_FRAC))

    def output_names(self, channel_names: list[str] | None = None) -> list[str]:
        """Names of the outputs, e.g. ``ax[t-31]`` ... or ``ax.mean``, ``ax.rms`` ..."""
        names = channel_names or [f"c{i}" for i in range(self.channels)]
        if len(names) != self.channels:
            raise ValueError(f"need {self.channels} channel names, got {len(names)}")
        if self.features:
            return [f"{c}.{f}" for c in names for f in FEATURES]
        return [f"{c}[t-{self.frames - 1 - t}]" for t in range(self.frames) for c in names]

    def to_dict(self) -> dict:
        return {
            "channels": self.channels,
            "window": self.window,
            "hop": self.hop,
            "decimate": self.decimate,
            "features": self.features,
            "tau_log2": self.tau_log2,
            "warmup": self.warmup,
            "clip": self.clip,
            "min_std": self.min_std,
            "out_frac": self.out_frac,
            "label_rule": LabelRule(self.label_rule).value,
        }

    @classmethod
    def from_dict(cls, d: dict) -> FrontEndSpec:
        return cls(**d)
