"""river adapter: a MESU network as a ``river.base.Classifier`` over dict features and any hashable labels.

The network's width is fixed when it is built, at the first ``learn_one``. Its inputs are the declared
``features`` (in that order) or the keys of the first learned sample (sorted, so that key order never
matters), plus ``spare_features`` slots that keys first seen later take in order of appearance. Its outputs
are the declared ``classes`` or ``max_classes`` slots that labels take in order of appearance. A missing
key (or a value of ``None``) is read as 0, the mean of a standardised feature.

Bad input raises before anything changes: ``TypeError`` for a non-dict ``x``, a non-numeric value or an
unhashable label; ``ValueError`` for a NaN or infinite value, a label outside the declared classes, a new
label once every class slot is taken, or (only with ``unseen_features="raise"``) a key that has no input.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
from river import base

from ._common import DEFAULTS, as_finite, build_learner, check_hidden

__all__ = ["MESUClassifier"]

_UNSEEN = ("ignore", "raise")


def _key_order(keys: Any) -> list:
    """A deterministic order of feature keys that does not depend on the dict's insertion order."""
    return sorted(keys, key=lambda k: (type(k).__name__, repr(k)))


class MESUClassifier(base.Classifier):
    """MESU (Metaplasticity from Synaptic Uncertainty) network learning one sample at a time, for river.

    Parameters
    ----------
    learner : ``"float"`` (:class:`edge_mesu.MESULearner`) or ``"fixed"`` (:class:`edge_mesu.FixedMESULearner`,
        int16 μ and uint8 σ code; its int8 inputs cover ±4 in steps of 1/32, so standardise features first).
    hidden : widths of the ReLU hidden layers (``()`` for none).
    features : the input keys in order; by default the sorted keys of the first learned sample.
    classes : the labels in order; by default labels take ``max_classes`` output slots as they arrive.
    max_classes : output slots when ``classes`` is not declared (a new label beyond them raises ``ValueError``).
    spare_features : extra inputs reserved for keys first seen after the network is built.
    unseen_features : ``"ignore"`` (river's convention: a key without an input is skipped) or ``"raise"``.
    N, sigma_init, sigma_prior, train_samples, predict_samples, seed : passed to the learner (see
        :class:`edge_mesu.MESULearner`). ``predict_samples=0`` predicts with the mean weights.
    learner_params : further keyword arguments of the learner class (e.g. ``{"backend": "c"}``).

    Examples
    --------
    >>> from river import datasets, evaluate, metrics, preprocessing
    >>> model = preprocessing.StandardScaler() | MESUClassifier(learner="fixed")
    >>> evaluate.progressive_val_score(datasets.Phishing().take(500), model, metrics.Accuracy())
    Accuracy: 83.37%
    """

    def __init__(
        self,
        learner: str = "float",
        hidden: tuple = DEFAULTS["hidden"],
        features: tuple | None = None,
        classes: tuple | None = None,
        max_classes: int = 8,
        spare_features: int = 0,
        unseen_features: str = "ignore",
        N: float = DEFAULTS["N"],
        sigma_init: float = DEFAULTS["sigma_init"],
        sigma_prior: float = DEFAULTS["sigma_prior"],
        train_samples: int = DEFAULTS["train_samples"],
        predict_samples: int = DEFAULTS["predict_samples"],
        seed: int = 0,
        learner_params: dict | None = None,
    ) -> None:
        self.learner = learner
        self.hidden = hidden
        self.features = features
        self.classes = classes
        self.max_classes = max_classes
        self.spare_features = spare_features
        self.unseen_features = unseen_features
        self.N = N
        self.sigma_init = sigma_init
        self.sigma_prior = sigma_prior
        self.train_samples = train_samples
        self.predict_samples = predict_samples
        self.seed = seed
        self.learner_params = learner_params
        self._check_params()
        self._learner: Any = None  # built at the first learn_one
        self._inputs: dict = {} if features is None else {k: i for i, k in enumerate(features)}
        self._labels: list = [] if classes is None else list(classes)
        self._slots: dict = {y: i for i, y in enumerate(self._labels)}

    def _check_params(self) -> None:
        if self.learner not in ("float", "fixed"):
            raise ValueError(f"learner must be 'float' or 'fixed', got {self.learner!r}")
        check_hidden(self.hidden)
        if self.unseen_features not in _UNSEEN:
            raise ValueError(f"unseen_features must be one of {_UNSEEN}, got {self.unseen_features!r}")
        for name in ("max_classes", "spare_features"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < (2 if name == "max_classes" else 0):
                raise ValueError(f"{name} must be an integer >= {2 if name == 'max_classes' else 0}, got {v!r}")
        if self.features is not None:
            if len(self.features) == 0 or len(set(self.features)) != len(self.features):
                raise ValueError(f"features must list distinct keys, got {self.features!r}")
        if self.classes is not None:
            if len(self.classes) < 2 or len(set(self.classes)) != len(self.classes):
                raise ValueError(f"classes must list at least 2 distinct labels, got {self.classes!r}")

    # -- river's metadata ------------------------------------------------------------------------------------
    @property
    def _multiclass(self) -> bool:
        return self.classes is None or len(self.classes) > 2

    @classmethod
    def _unit_test_params(cls):  # river.checks builds the adapter around each learner
        yield {"learner": "float"}
        yield {"learner": "fixed"}

    # -- views ---------------------------------------------------------------------------------------------
    @property
    def inner(self) -> Any:
        """The edge-mesu learner (``None`` before the first ``learn_one``)."""
        return self._learner

    @property
    def seen_classes(self) -> list:
        """Labels with an output slot, in slot order."""
        return list(self._labels)

    @property
    def feature_order(self) -> list:
        """Feature keys with an input, in input order."""
        return sorted(self._inputs, key=lambda k: self._inputs[k])

    def state_nbytes(self) -> int:
        """Bytes of the learner's state (μ and σ of every weight); 0 before the first ``learn_one``."""
        return 0 if self._learner is None else int(self._learner.state_nbytes())

    # -- input conversion -------------------------------------------------------------------------------------
    def _width(self, inputs: dict) -> int:
        base_width = len(self.features) if self.features is not None else len(inputs)
        return base_width + int(self.spare_features)

    def _vector(self, x: Any, learning: bool) -> tuple[np.ndarray, dict]:
        """The input vector of ``x`` and the key→input map it implies (a copy when it grows)."""
        if not isinstance(x, Mapping):
            raise TypeError(f"x must be a dict of features, got {type(x).__name__}")
        values = {k: (0.0 if v is None else as_finite(v, k)) for k, v in x.items()}
        inputs = self._inputs
        if self._learner is None and self.features is None and learning:
            inputs = {k: i for i, k in enumerate(_key_order(values))}
        width = self._width(inputs) if self._learner is None else self._learner.layers[0]
        unseen = [k for k in values if k not in inputs]
        if unseen and self._learner is not None or (self.features is not None and unseen):
            free = width - len(inputs)
            if learning and free > 0:
                inputs = dict(inputs)
                for k in _key_order(unseen)[:free]:
                    inputs[k] = len(inputs)
                unseen = [k for k in unseen if k not in inputs]
            if unseen and self.unseen_features == "raise":
                raise ValueError(f"feature {unseen[0]!r} has no input (inputs: {self.feature_order!r})")
        vec = np.zeros(width)
        for k, v in values.items():
            i = inputs.get(k)
            if i is not None:
                vec[i] = v
        return vec, inputs

    def _slot(self, y: Any) -> tuple[int, bool]:
        """The output slot of label ``y`` and whether it is new."""
        if not isinstance(y, Hashable) or y is None:
            raise TypeError(f"y must be a hashable label, got {y!r}")
        if y in self._slots:
            return self._slots[y], False
        if self.classes is not None:
            raise ValueError(f"label {y!r} is not one of the declared classes {list(self.classes)!r}")
        if len(self._labels) >= self.max_classes:
            raise ValueError(
                f"label {y!r} is new but all {self.max_classes} class slots are taken by "
                f"{self._labels!r}; raise max_classes or declare classes"
            )
        return len(self._labels), True

    # -- river's verbs ------------------------------------------------------------------------------------
    def learn_one(self, x: dict, y: Any) -> None:
        """Update with one sample; bad input raises before any state changes."""
        slot, new_label = self._slot(y)
        vec, inputs = self._vector(x, learning=True)
        learner = self._learner
        if learner is None:
            n_out = len(self.classes) if self.classes is not None else self.max_classes
            learner = build_learner(
                self.learner,
                len(vec),
                self.hidden,
                n_out,
                N=self.N,
                sigma_init=self.sigma_init,
                sigma_prior=self.sigma_prior,
                train_samples=self.train_samples,
                predict_samples=self.predict_samples,
                seed=self.seed,
                learner_params=self.learner_params,
            )
        learner.learn_one(vec, slot)  # validates again, then updates: nothing below can fail
        self._learner, self._inputs = learner, inputs
        if new_label:
            self._labels.append(y)
            self._slots[y] = slot

    def _proba_all(self, x: dict) -> np.ndarray:
        vec, _ = self._vector(x, learning=False)
        return self._learner.predict_proba(vec[None, :])[0]

    def predict_proba_one(self, x: dict, **kwargs: Any) -> dict:
        """Probabilities of the labels seen (or declared), renormalised over them; ``{}`` before any label."""
        if self._learner is None:
            self._vector(x, learning=False)  # same input checks as after learning
            n = len(self._labels)
            return {y: 1.0 / n for y in self._labels} if n else {}
        p = self._proba_all(x)[: len(self._labels)]
        p = p / p.sum() if p.sum() > 0 else np.full(len(p), 1.0 / len(p))
        return {y: float(v) for y, v in zip(self._labels, p)}

    def predict_uncertainty_one(self, x: dict, samples: int = 10) -> dict[str, float] | None:
        """MESU's uncertainty of one prediction in bits from ``samples`` weight samples: ``predictive`` (entropy
        of the mean prediction) = ``aleatoric`` + ``epistemic`` (mutual information between prediction and
        weights, high for inputs unlike the training data). Computed over all output slots; ``None`` before
        the first ``learn_one``."""
        vec, _ = self._vector(x, learning=False)
        if self._learner is None:
            return None
        u = self._learner.uncertainty(vec[None, :], samples=samples)
        return {
            "predictive": float(u.predictive[0]),
            "aleatoric": float(u.aleatoric[0]),
            "epistemic": float(u.epistemic[0]),
        }
