"""The one home of hyper-parameter defaults: named presets of the MESU rule and the learner options.

A learner's configuration is one :class:`~edge_mesu.mesu_rule.MESUConfig` (the rule's hyper-parameters)
plus :class:`LearnerOptions` (initialisation and sampling), and for the fixed-point learner a
:class:`~edge_mesu.fixed.formats.FixedFormats` record. Every default lives in exactly one place:

- the rule's defaults in :data:`PRESETS` (not in the learners' signatures);
- the fixed-point formats' defaults in :class:`~edge_mesu.fixed.formats.FixedFormats`, and the fields a preset
  changes in its ``formats`` (the device preset: ``sigma_per_octave = 48``).

Presets (``preset=`` of every MESU learner; explicit keyword arguments override a preset):

``"device"`` — the learners' default: one sample of each pre-activation per update (local
    reparameterisation, ``sampling="lrt"``: on permuted MNIST it keeps more than one weight sample per update,
    and the generated C runs it in fewer instructions; docs/results.md), the step guard ``ratio_max = 0.1``
    and the σ floor ``sigma_min = 1e-6`` that keep the single-sample σ step finite on real data, σ
    initialised at 0.05 (docs/robustness.md has the measurements); for the fixed-point learner, a σ code of 48
    codes per octave (a 5.3-octave window: on 50 permuted-MNIST tasks it keeps 2.6 points more than 64,
    docs/fixed_point.md).
``"sensor"`` — what :meth:`edge_mesu.SensorPipeline.create` (and so ``edge-mesu learn``) starts from, chosen
    on the real recordings of ``../shared/data/sensors`` (docs/sensor_streams.md has the ablation): σ
    initialised at 0.2 under a σ cap (the fixed learner's window top) of 0.25, a looser step guard
    ``ratio_max = 0.3``, a μ step factor ``lr_mu = 2`` and weight sampling (local reparameterisation retained
    less on hapt, docs/results.md): it learns as fast as SGD's best rate on hapt and keeps far more.
``"tabular"`` — the river and scikit-learn adapters' default (:mod:`edge_mesu.compat`): the device preset with
    a memory window of N = 10,000 samples, σ initialised at 0.4 and weight sampling, chosen on river's
    synthetic streams (docs/ecosystem.md).
``"paper"`` — the MESU papers' permuted-MNIST protocol (../shared/MESU_FACTS.md): the rule in its pure form
    (no guard, no floor), σ = 2/√fan_in, 10 weight samples to train and to predict, no biases.

Example
-------
>>> rule, options = resolve("paper", None, {"train_samples": 1})
>>> rule.ratio_max, options.sigma_init, options.train_samples, options.bias
(None, 'paper', 1, False)
>>> resolve("device", None, {})[0].ratio_max
0.1
>>> dict(PRESETS["device"].formats), dict(PRESETS["sensor"].formats)
({'sigma_per_octave': 48}, {})
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from .mesu_rule import MESUConfig

__all__ = [
    "DEFAULT",
    "DEFAULT_PRESET",
    "LearnerOptions",
    "OPTION_KEYS",
    "PRESETS",
    "Preset",
    "RULE_KEYS",
    "given",
    "resolve",
]


class _Default:
    """An argument left at its default: the chosen preset's value (rule, options) or the formats' default."""

    def __repr__(self) -> str:
        return "<default>"

    def __reduce__(self) -> str:  # one instance, also across pickling
        return "DEFAULT"


DEFAULT: Any = _Default()


@dataclass(frozen=True)
class LearnerOptions:
    """What a MESU learner adds to the rule: initialisation and weight sampling.

    sigma_init : initial σ of every parameter, or ``"paper"`` for σ = 2/√fan_in.
    train_samples : weight samples per update; predict_samples : weight samples to predict (0 = mean).
    bias : learn biases; sigma_grad : ``"reparam"`` or ``"centered"`` (see :class:`edge_mesu.MESULearner`).
    sampling : what the learning step samples, ``"weights"`` or ``"lrt"`` (see :class:`edge_mesu.MESULearner`).
    """

    sigma_init: float | str
    train_samples: int
    predict_samples: int
    bias: bool
    sigma_grad: str
    sampling: str


@dataclass(frozen=True)
class Preset:
    """A named configuration: the rule, the learner options and the fixed-point learner's format overrides.

    ``formats`` holds (field, value) pairs of :class:`~edge_mesu.fixed.formats.FixedFormats` that this preset
    changes (the fields it leaves out keep the formats' own defaults; the float learner ignores them); pairs,
    not a dict, so that a preset stays hashable and picklable.
    """

    name: str
    rule: MESUConfig
    options: LearnerOptions
    summary: str = field(default="", compare=False)
    formats: tuple[tuple[str, Any], ...] = ()


PRESETS: dict[str, Preset] = {
    "device": Preset(
        "device",
        MESUConfig(N=300_000.0, sigma_prior=1.0, ratio_max=0.1, sigma_min=1e-6),
        LearnerOptions(
            sigma_init=0.05, train_samples=1, predict_samples=0, bias=True, sigma_grad="reparam", sampling="lrt"
        ),
        "one pre-activation sample per update (LRT), step guard and σ floor, σ init 0.05, a 5.3-octave σ window "
        "(the default)",
        (("sigma_per_octave", 48),),
    ),
    "sensor": Preset(
        "sensor",
        MESUConfig(N=300_000.0, sigma_prior=1.0, lr_mu=2.0, ratio_max=0.3, sigma_min=1e-6, sigma_max=0.25),
        LearnerOptions(
            sigma_init=0.2, train_samples=1, predict_samples=0, bias=True, sigma_grad="reparam", sampling="weights"
        ),
        "real sensor streams: σ0 0.2 capped at 0.25, ratio_max 0.3, lr_mu 2 (the sensor pipeline's default)",
    ),
    "tabular": Preset(
        "tabular",
        MESUConfig(N=10_000.0, sigma_prior=1.0, ratio_max=0.1, sigma_min=1e-6),
        LearnerOptions(
            sigma_init=0.4, train_samples=1, predict_samples=0, bias=True, sigma_grad="reparam", sampling="weights"
        ),
        "small tabular streams (the river / scikit-learn adapters): N = 10,000, σ init 0.4",
    ),
    "paper": Preset(
        "paper",
        MESUConfig(N=300_000.0, sigma_prior=1.0),
        LearnerOptions(
            sigma_init="paper",
            train_samples=10,
            predict_samples=10,
            bias=False,
            sigma_grad="reparam",
            sampling="weights",
        ),
        "the MESU papers' permuted-MNIST protocol: pure rule, σ = 2/√fan_in, 10 weight samples",
    ),
}
DEFAULT_PRESET = "device"
RULE_KEYS = tuple(f.name for f in fields(MESUConfig))
OPTION_KEYS = tuple(f.name for f in fields(LearnerOptions))


def given(**kwargs: Any) -> dict[str, Any]:
    """The arguments a caller actually passed (those not left at :data:`DEFAULT`)."""
    return {k: v for k, v in kwargs.items() if v is not DEFAULT}


def resolve(preset: str, config: MESUConfig | None, overrides: dict[str, Any]) -> tuple[MESUConfig, LearnerOptions]:
    """The rule and options of ``preset``, with ``config`` (a whole rule) and then ``overrides`` applied.

    ``overrides`` may hold rule keys (:data:`RULE_KEYS`) and option keys (:data:`OPTION_KEYS`); anything else
    raises ``ValueError``. The rule is validated by :class:`MESUConfig`.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    if config is not None and not isinstance(config, MESUConfig):
        raise ValueError(f"config must be a MESUConfig, got {type(config).__name__}")
    unknown = sorted(set(overrides) - set(RULE_KEYS) - set(OPTION_KEYS))
    if unknown:
        raise ValueError(
            f"unknown hyper-parameter(s) {unknown}; the rule takes {', '.join(RULE_KEYS)} and "
            f"the learner {', '.join(OPTION_KEYS)}"
        )
    base = PRESETS[preset]
    rule = replace(
        config if config is not None else base.rule, **{k: v for k, v in overrides.items() if k in RULE_KEYS}
    )
    options = replace(base.options, **{k: v for k, v in overrides.items() if k in OPTION_KEYS})
    return rule, options
