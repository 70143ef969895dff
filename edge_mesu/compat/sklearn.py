"""scikit-learn adapter: a MESU network as a classifier with ``fit``, ``partial_fit``, ``predict_proba``.

``partial_fit`` is MESU's natural mode: one pass over the rows in the given order, one update per row, on
the classes declared at the first call. ``fit`` starts from a fresh network and makes ``max_iter`` such passes
(shuffled when ``shuffle``), as ``SGDClassifier`` does. Input is validated with scikit-learn's
``validate_data`` before any state changes, so bad input (NaN, a wrong number of features, a label outside
``classes_``) raises ``ValueError`` and leaves a fitted estimator as it was.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import _check_partial_fit_first_call, check_classification_targets
from sklearn.utils.validation import check_is_fitted, check_random_state

try:
    from sklearn.utils.validation import validate_data
except ImportError:  # scikit-learn < 1.6 (untested here: the checks were run with 1.9)

    def validate_data(estimator: Any, *args: Any, **kwargs: Any) -> Any:
        return estimator._validate_data(*args, **kwargs)


from ..uncertainty import Uncertainty
from ._common import DEFAULTS, build_learner

__all__ = ["MESUSKClassifier"]


class MESUSKClassifier(ClassifierMixin, BaseEstimator):
    """MESU (Metaplasticity from Synaptic Uncertainty) network as a scikit-learn classifier.

    Parameters
    ----------
    learner : ``"float"`` (:class:`edge_mesu.MESULearner`) or ``"fixed"`` (:class:`edge_mesu.FixedMESULearner`;
        its int8 inputs cover ±4 in steps of 1/32, so put a ``StandardScaler`` in front).
    hidden : widths of the ReLU hidden layers (``()`` for none).
    N, sigma_init, sigma_prior, train_samples, predict_samples : passed to the learner (see
        :class:`edge_mesu.MESULearner`); ``predict_samples=0`` predicts with the mean weights.
    max_iter : passes over the data in ``fit`` (``partial_fit`` always makes one).
    shuffle : shuffle the rows before each pass of ``fit``.
    random_state : seeds the learner's weight samples and ``fit``'s shuffling (``None``: a fresh seed).
    learner_params : further keyword arguments of the learner class (e.g. ``{"backend": "c"}``). The float
        learner runs in float64 unless ``{"dtype": "float32"}`` is given: float32 matrix products change in
        the 7th digit with the batch size, and scikit-learn checks that predictions do not.

    Attributes
    ----------
    classes_ : the class labels, sorted.
    n_features_in_ : number of input features.
    n_iter_ : passes made by the last ``fit`` (1 after ``partial_fit`` alone).
    learner_ : the edge-mesu learner.
    """

    def __init__(
        self,
        learner: str = "float",
        hidden: tuple = DEFAULTS["hidden"],
        N: float = DEFAULTS["N"],
        sigma_init: float = DEFAULTS["sigma_init"],
        sigma_prior: float = DEFAULTS["sigma_prior"],
        train_samples: int = DEFAULTS["train_samples"],
        predict_samples: int = DEFAULTS["predict_samples"],
        max_iter: int = 5,
        shuffle: bool = True,
        random_state: int | None = None,
        learner_params: dict | None = None,
    ) -> None:
        self.learner = learner
        self.hidden = hidden
        self.N = N
        self.sigma_init = sigma_init
        self.sigma_prior = sigma_prior
        self.train_samples = train_samples
        self.predict_samples = predict_samples
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.learner_params = learner_params

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        return tags

    # -- helpers ---------------------------------------------------------------------------------------------
    def _new_learner(self, n_features: int, rng: np.random.RandomState) -> Any:
        if len(self.classes_) < 2:
            raise ValueError(f"{type(self).__name__} needs at least 2 classes, got 1 class: {self.classes_!r}")
        seed = (
            self.random_state
            if isinstance(self.random_state, (int, np.integer))
            and not isinstance(self.random_state, bool)
            and self.random_state >= 0
            else int(rng.randint(2**31 - 1))
        )
        params = dict(self.learner_params or {})
        if self.learner == "float":  # float64 by default: batch-size independent predictions, as sklearn checks
            params.setdefault("dtype", "float64")
        return build_learner(
            self.learner,
            n_features,
            self.hidden,
            len(self.classes_),
            N=self.N,
            sigma_init=self.sigma_init,
            sigma_prior=self.sigma_prior,
            train_samples=self.train_samples,
            predict_samples=self.predict_samples,
            seed=int(seed),
            learner_params=params,
        )

    def _encode(self, y: np.ndarray) -> np.ndarray:
        """Indices of ``y`` in ``classes_``; ``ValueError`` for a label outside them."""
        idx = np.searchsorted(self.classes_, y)
        idx = np.clip(idx, 0, len(self.classes_) - 1)
        bad = self.classes_[idx] != y
        if np.any(bad):
            raise ValueError(f"label {y[bad][0]!r} is not in classes_ {self.classes_.tolist()!r}")
        return idx

    # -- learning ------------------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> MESUSKClassifier:
        """Learn from scratch: ``max_iter`` passes over ``(X, y)``, one MESU update per row."""
        X, y = validate_data(self, X, y, dtype=np.float64, reset=True)
        check_classification_targets(y)
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, (int, np.integer)) or self.max_iter < 1:
            raise ValueError(f"max_iter must be an integer >= 1, got {self.max_iter!r}")
        rng = check_random_state(self.random_state)
        self.classes_ = np.unique(y)
        learner = self._new_learner(X.shape[1], rng)
        idx = self._encode(y)
        for _ in range(int(self.max_iter)):
            order = rng.permutation(len(y)) if self.shuffle else np.arange(len(y))
            learner.learn_many(X[order], idx[order])
        self.learner_, self.n_iter_ = learner, int(self.max_iter)
        return self

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> MESUSKClassifier:
        """One pass over ``(X, y)`` in order; ``classes`` (all labels to expect) is required at the first call."""
        first = not hasattr(self, "learner_")
        snapshot = dict(self.__dict__)
        try:  # every check before the first update; on failure the estimator is left as it was
            X, y = validate_data(self, X, y, dtype=np.float64, reset=first)
            check_classification_targets(y)
            _check_partial_fit_first_call(self, classes)  # sets classes_ at the first call
            idx = self._encode(y)
            learner = self._new_learner(X.shape[1], check_random_state(self.random_state)) if first else self.learner_
        except Exception:
            self.__dict__.clear()
            self.__dict__.update(snapshot)
            raise
        learner.learn_many(X, idx)
        if first:
            self.learner_, self.n_iter_ = learner, 1
        return self

    # -- prediction ----------------------------------------------------------------------------------------
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape ``(n, n_classes)``, columns in the order of ``classes_``."""
        check_is_fitted(self, "learner_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self.learner_.predict_proba(X)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Logarithm of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row."""
        proba = self.predict_proba(X)  # checks fitted first
        return self.classes_[np.argmax(proba, axis=1)]

    def predict_uncertainty(self, X: Any, samples: int = 10) -> Uncertainty:
        """MESU's uncertainty in bits from ``samples`` weight samples: ``.predictive`` (entropy of the mean
        prediction) = ``.aleatoric`` + ``.epistemic`` (mutual information between prediction and weights)."""
        check_is_fitted(self, "learner_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self.learner_.uncertainty(X, samples=samples)

    def state_nbytes(self) -> int:
        """Bytes of the learner's state (μ and σ of every weight)."""
        check_is_fitted(self, "learner_")
        return int(self.learner_.state_nbytes())
