"""The fixed-point learner's number formats and update rounding: one frozen record, its defaults written once.

Example
-------
>>> f = FixedFormats(mu_frac=(11, 12))
>>> f.input_frac, f.act_frac, f.sigma_per_octave, f.rounding
(5, 8, 64, 'stochastic')
"""

from __future__ import annotations

from dataclasses import dataclass, fields

__all__ = ["FORMAT_KEYS", "FixedFormats"]


@dataclass(frozen=True)
class FixedFormats:
    """Formats of a :class:`~edge_mesu.fixed.FixedMESULearner` (docs/fixed_point.md gives the reasons).

    input_frac : fractional bits of the int8 input (5: ±4 standard deviations in steps of 1/32).
    act_frac : fractional bits of the int16 hidden activations (8).
    mu_frac : per-layer fractional bits of int16 μ (None: 8× the initial weight range fits).
    sigma_bits, sigma_per_octave : σ code width and resolution (σ = σ_max·2**(−code/k); 8 bits and k = 64: a
        4-octave window, fine enough that the code's rounding noise does not spread log σ; the device preset,
        the learners' default, sets k = 48: 5.3 octaves, a lower floor for long lifetimes, docs/fixed_point.md).
    rounding : ``"stochastic"`` or ``"nearest"`` for the μ and σ-code updates.
    """

    input_frac: int = 5
    act_frac: int = 8
    mu_frac: tuple[int, ...] | None = None
    sigma_bits: int = 8
    sigma_per_octave: int = 64
    rounding: str = "stochastic"


FORMAT_KEYS = tuple(f.name for f in fields(FixedFormats))
