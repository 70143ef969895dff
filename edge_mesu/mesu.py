"""Float reference MESU learner: a mean-field Gaussian ReLU MLP trained one sample at a time.

This is the oracle every other path (fixed point, C, exports) is compared with. The update itself lives in
:mod:`edge_mesu.mesu_rule`; this class draws weight samples (or, with ``sampling="lrt"``, pre-activation
samples), differentiates and calls the rule.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._validation import check_positive_int
from .interface import FLOAT_ARITHMETIC, NetworkDescription, read_only
from .learner_base import BaseLearner, param_names
from .mesu_rule import MESUConfig, mesu_update
from .mlp import backward, forward, lrt_gradients, softmax
from .presets import DEFAULT, DEFAULT_PRESET, LearnerOptions, given, resolve

__all__ = ["MESULearner", "check_options", "paper_init", "param_names", "SAMPLINGS", "SIGMA_GRADS"]

SIGMA_GRADS = ("reparam", "centered")
SAMPLINGS = ("weights", "lrt")


def check_layers(layers: object) -> tuple[int, ...]:
    try:
        sizes = tuple(int(v) for v in layers)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        raise ValueError(f"layers must be a sequence of integers, got {layers!r}") from None
    if len(sizes) < 2 or any(s < 1 for s in sizes):
        raise ValueError(f"layers must list at least 2 positive sizes (inputs ... classes), got {sizes}")
    if sizes[-1] < 2:
        raise ValueError(f"the last layer is the softmax output and needs >= 2 classes, got {sizes[-1]}")
    return sizes


def check_options(options: LearnerOptions) -> None:
    """``ValueError`` naming the first bad learner option."""
    s = options.sigma_init
    if s != "paper" and not (isinstance(s, (int, float)) and not isinstance(s, bool) and s > 0):
        raise ValueError(f"sigma_init must be 'paper' or a number > 0, got {s!r}")
    check_positive_int(options.train_samples, "train_samples")
    check_positive_int(options.predict_samples, "predict_samples", minimum=0)
    if options.sigma_grad not in SIGMA_GRADS:
        raise ValueError(f"sigma_grad must be one of {SIGMA_GRADS}, got {options.sigma_grad!r}")
    if options.sampling not in SAMPLINGS:
        raise ValueError(f"sampling must be one of {SAMPLINGS}, got {options.sampling!r}")
    if options.sampling == "lrt" and options.sigma_grad != "reparam":
        raise ValueError(
            f"sampling='lrt' takes sigma_grad='reparam' only, got sigma_grad={options.sigma_grad!r} (the device "
            "preset samples pre-activations: pass sampling='weights' for the centered gradient)"
        )


def paper_init(
    layers: tuple[int, ...],
    bias: bool,
    rng: np.random.Generator,
    sigma_init: float | str = "paper",
    mu_scale: float = 4.0,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The MESU papers' initialisation: μ ~ U(±4/√fan_in) (biases 0), σ = 2/√fan_in (or ``sigma_init``)."""
    mus: list[np.ndarray] = []
    sigmas: list[np.ndarray] = []
    for fan_in, fan_out in zip(layers[:-1], layers[1:]):
        bound = mu_scale / math.sqrt(fan_in)
        s = 2.0 / math.sqrt(fan_in) if sigma_init == "paper" else float(sigma_init)
        mus.append(rng.uniform(-bound, bound, size=(fan_in, fan_out)))
        sigmas.append(np.full((fan_in, fan_out), s))
        if bias:
            mus.append(np.zeros(fan_out))
            sigmas.append(np.full(fan_out, s))
    return mus, sigmas


class MESULearner(BaseLearner):
    """Bayesian MLP (mean-field Gaussian weights and biases) learning with the MESU rule.

    Parameters
    ----------
    layers : sizes from inputs to classes, e.g. ``(784, 50, 10)``; hidden layers use ReLU.
    preset : named defaults (:data:`edge_mesu.presets.PRESETS`): ``"device"`` (the default: one sample of each
        pre-activation per update (``sampling="lrt"``), the step guard ``ratio_max = 0.1`` and σ floor
        ``sigma_min = 1e-6``, σ init 0.05), ``"sensor"``, ``"tabular"`` (weight sampling) or ``"paper"`` (the
        MESU papers' permuted-MNIST protocol). Every argument left out takes the preset's value.
    config : a whole :class:`~edge_mesu.mesu_rule.MESUConfig` instead of the preset's rule (keyword arguments
        still override single fields).
    N, sigma_prior, mu_prior, lr_mu, lr_sigma, c_sigma, ratio_max, sigma_step_max, sigma_min, sigma_max :
        the rule's hyper-parameters, see :class:`~edge_mesu.mesu_rule.MESUConfig` (``None`` disables a guard).
    sigma_init : initial σ of every parameter, or ``"paper"`` for the papers' σ = 2/√fan_in (0.071 for
        784→50, 0.283 for 50→10). With one weight sample per update the paper's larger output-layer σ forgets
        much faster: see docs/robustness.md for the measurement.
    train_samples : weight samples per update (the paper uses 10; 1 is 10× cheaper and what a device runs).
    predict_samples : weight samples for ``predict``/``predict_one`` (0 = mean weights).
    sigma_grad : estimator of ∂C/∂σ: ``"reparam"`` (the papers': E over samples of ε·∂C/∂w) or
        ``"centered"`` (E of ε·(∂C/∂w − ∂C/∂w at the mean weights)): the same expectation, since ε is
        independent of the mean-weight gradient, with far less noise; one more forward/backward pass.
    bias : learn biases (the paper's pMNIST network has none).
    dtype : ``"float32"`` (fast) or ``"float64"`` (for checks).
    seed : seeds the weight-sample generator; same seed and stream give the same state.
    sampling : how the learning step samples the network (default: the preset's; ``"lrt"`` for ``"device"``,
        ``"weights"`` for the others). ``"weights"`` (the papers'): one ε per
        parameter and weight sample, w = μ + σ·ε. ``"lrt"`` (local reparameterisation): one ε per
        pre-activation, per input row and weight sample, b_j = Σ_i μ_ij·a_i + ε_j·√(Σ_i σ_ij²·a_i²) (biases
        as an input a = 1; see :func:`edge_mesu.mlp.lrt_gradients`): for 784-50-10, 60 draws per update
        instead of 39,700, the same expected loss and an unbiased ∂C/∂σ with less variance. Only the learning
        step changes: ``predict``/``uncertainty`` keep weight sampling (for one input both give the same
        distribution of the outputs, so the sampled prediction and the mutual information are the same
        quantities; weight samples keep one network per sample across a batch). ``"lrt"`` takes
        ``sigma_grad="reparam"`` only. Written to the state file only when not ``"weights"``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 4)); y = (X[:, 0] > 0).astype(int)
    >>> m = MESULearner(layers=(4, 8, 2), N=1000, sigma_init=0.3, seed=1)
    >>> m.learn_many(X, y)
    >>> float((m.predict(X) == y).mean()) > 0.8
    True
    """

    def __init__(
        self,
        layers: tuple[int, ...] | list[int] = (784, 50, 10),
        *,
        preset: str = DEFAULT_PRESET,
        config: MESUConfig | None = None,
        N: float = DEFAULT,
        sigma_prior: float = DEFAULT,
        mu_prior: float = DEFAULT,
        lr_mu: float = DEFAULT,
        lr_sigma: float = DEFAULT,
        c_sigma: float = DEFAULT,
        ratio_max: float | None = DEFAULT,
        sigma_step_max: float | None = DEFAULT,
        sigma_min: float | None = DEFAULT,
        sigma_max: float | None = DEFAULT,
        sigma_init: float | str = DEFAULT,
        train_samples: int = DEFAULT,
        predict_samples: int = DEFAULT,
        bias: bool = DEFAULT,
        dtype: str = "float32",
        seed: int = 0,
        sigma_grad: str = DEFAULT,
        sampling: str = DEFAULT,
    ) -> None:
        self.layers = check_layers(layers)
        self.config, options = resolve(
            preset,
            config,
            given(
                N=N,
                sigma_prior=sigma_prior,
                mu_prior=mu_prior,
                lr_mu=lr_mu,
                lr_sigma=lr_sigma,
                c_sigma=c_sigma,
                ratio_max=ratio_max,
                sigma_step_max=sigma_step_max,
                sigma_min=sigma_min,
                sigma_max=sigma_max,
                sigma_init=sigma_init,
                train_samples=train_samples,
                predict_samples=predict_samples,
                bias=bias,
                sigma_grad=sigma_grad,
                sampling=sampling,
            ),
        )
        check_options(options)
        self.sigma_init: float | str = options.sigma_init
        self.train_samples: int = options.train_samples
        self.predict_samples = options.predict_samples
        self.bias = bool(options.bias)
        self.sigma_grad: str = options.sigma_grad
        self.sampling: str = options.sampling
        if dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
        self.dtype = dtype
        self.seed = check_positive_int(seed, "seed", minimum=0)
        self._rng = np.random.Generator(np.random.PCG64(self.seed))
        mus, sigmas = paper_init(self.layers, self.bias, self._rng, self.sigma_init)
        self._mu = [m.astype(dtype) for m in mus]
        self._sigma = [s.astype(dtype) for s in sigmas]
        self._step = 0

    # -- public views ----------------------------------------------------------------------------------------
    def params(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Copies of ``{name: (μ, σ)}`` in float64."""
        return {
            n: (m.astype(np.float64), s.astype(np.float64)) for n, m, s in zip(self.param_names, self._mu, self._sigma)
        }

    def mean_params(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The mean network as ``[(W (fan_in, fan_out), b (fan_out,)), ...]`` in float64 (zero biases if none)."""
        return _split_layers(self._mu, self.layers, self.bias)

    def n_params(self) -> int:
        return int(sum(m.size for m in self._mu))

    def state_nbytes(self) -> int:
        """Bytes of the learning state (μ and σ of every parameter)."""
        return int(sum(m.nbytes + s.nbytes for m, s in zip(self._mu, self._sigma)))

    def describe(self) -> NetworkDescription:
        """The network as data, for export and firmware_sim (see :mod:`edge_mesu.interface`)."""
        return NetworkDescription(
            kind=type(self).__name__,
            layers=self.layers,
            bias=self.bias,
            train_samples=self.train_samples,
            predict_samples=self.predict_samples,
            sampling=self.sampling,
            arithmetic=FLOAT_ARITHMETIC,
            n_params=self.n_params(),
            state_nbytes=self.state_nbytes(),
            mean_params=tuple((read_only(w), read_only(b)) for w, b in self.mean_params()),
            posterior=tuple((n, read_only(m), read_only(s)) for n, (m, s) in self.params().items()),
            config=self.config,
        )

    # -- learning ------------------------------------------------------------------------------------------
    def _draw_eps(self, rng: np.random.Generator, samples: int) -> list[np.ndarray]:
        total = sum(m.size for m in self._mu)
        flat = rng.standard_normal((samples, total), dtype=np.dtype(self.dtype))
        out, start = [], 0
        for m in self._mu:
            out.append(flat[:, start : start + m.size].reshape((samples,) + m.shape))
            start += m.size
        return out

    def _draw_eps_lrt(self, rng: np.random.Generator, samples: int, batch: int) -> list[np.ndarray]:
        sizes = self.layers[1:]
        flat = rng.standard_normal((samples, batch, sum(sizes)), dtype=np.dtype(self.dtype))
        bounds = np.cumsum((0,) + sizes)
        return [flat[..., lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:])]

    def gradients(self, X: np.ndarray, y: np.ndarray, eps: list[np.ndarray]) -> tuple[list, list]:
        """(∂C/∂μ, ∂C/∂σ) per parameter for the samples ``eps``.

        C is the batch's summed cross-entropy averaged over the S samples. ``sampling="weights"``: ``eps`` holds
        one array ``(S, *shape)`` per parameter, w = μ + σ·ε. ``sampling="lrt"``: one array ``(S, B,
        fan_out)`` per layer, the pre-activations' ε (see :func:`edge_mesu.mlp.lrt_gradients`).
        """
        if self.sampling == "lrt":
            return self._lrt_gradients(X, y, eps)
        ws = [m + s * e for m, s, e in zip(self._mu, self._sigma, eps)]
        grads = self._param_grads(ws, X, y)
        samples = eps[0].shape[0]
        g_mu = [g.sum(axis=0) / samples for g in grads]
        if self.sigma_grad == "centered":  # control variate: the gradient at the mean weights
            grads = [g - g0 for g, g0 in zip(grads, self._param_grads(list(self._mu), X, y))]
        g_sigma = [(g * e).sum(axis=0) / samples for g, e in zip(grads, eps)]
        return g_mu, g_sigma

    def _lrt_gradients(self, X: np.ndarray, y: np.ndarray, eps: list[np.ndarray]) -> tuple[list, list]:
        mw, mb = _unzip(self._mu, self.bias)
        sw, sb = _unzip(self._sigma, self.bias)
        g_mu_w, g_sig_w, g_mu_b, g_sig_b = lrt_gradients(mw, sw, mb, sb, X.astype(self.dtype, copy=False), y, eps)
        samples = eps[0].shape[0]
        g_mu = [g / samples for g in _zip(g_mu_w, g_mu_b, self.bias)]
        g_sigma = [g / samples for g in _zip(g_sig_w, g_sig_b, self.bias)]
        return g_mu, g_sigma

    def _param_grads(self, params: list[np.ndarray], X: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
        weights, biases = _unzip(params, self.bias)
        logits, acts = forward(weights, biases, X.astype(self.dtype, copy=False))
        g_w, g_b = backward(weights, acts, logits, y, self.bias)
        return _zip(g_w, g_b, self.bias)

    def _learn_batch(self, X: np.ndarray, y: np.ndarray) -> None:
        rng_state = self._rng.bit_generator.state
        if self.sampling == "lrt":
            eps = self._draw_eps_lrt(self._rng, self.train_samples, X.shape[0])
        else:
            eps = self._draw_eps(self._rng, self.train_samples)
        g_mu, g_sigma = self.gradients(X, y, eps)
        new = [mesu_update(m, s, gm, gs, self.config) for m, s, gm, gs in zip(self._mu, self._sigma, g_mu, g_sigma)]
        if not all(np.all(np.isfinite(m)) and np.all(np.isfinite(s)) and np.all(s > 0) for m, s in new):
            self._rng.bit_generator.state = rng_state
            raise FloatingPointError(
                f"MESU step {self._step} produced a non-finite or non-positive value; state left unchanged "
                "(set ratio_max / sigma_min, or check the input scale)"
            )
        self._mu = [m.astype(self.dtype, copy=False) for m, _ in new]
        self._sigma = [s.astype(self.dtype, copy=False) for _, s in new]
        self._step += 1

    # -- prediction ----------------------------------------------------------------------------------------
    def _sample_proba(self, X: np.ndarray, samples: int) -> np.ndarray:
        # weight samples whatever ``sampling`` is: it changes only how the learning step estimates gradients
        Xd = X.astype(self.dtype, copy=False)
        if samples == 0:
            weights, biases = _unzip(self._mu, self.bias)
            logits, _ = forward(weights, biases, Xd)
            return softmax(logits.astype(np.float64))[None]
        # prediction noise is a pure function of (seed, step): predicting never changes the learner
        rng = np.random.Generator(np.random.PCG64([self.seed, self._step, 0x5EED]))
        eps = self._draw_eps(rng, samples)
        ws = [m + s * e for m, s, e in zip(self._mu, self._sigma, eps)]
        weights, biases = _unzip(ws, self.bias)
        logits, _ = forward(weights, biases, Xd)
        return softmax(logits.astype(np.float64))

    # -- persistence ---------------------------------------------------------------------------------------
    def _init_args(self) -> dict[str, Any]:
        args: dict[str, Any] = {
            "layers": self.layers,
            **self.config.to_dict(),
            "sigma_init": self.sigma_init,
            "train_samples": self.train_samples,
            "predict_samples": self.predict_samples,
            "bias": self.bias,
            "dtype": self.dtype,
            "seed": self.seed,
            "sigma_grad": self.sigma_grad,
        }
        if self.sampling != "weights":  # files of the default sampling stay byte-identical to earlier versions'
            args["sampling"] = self.sampling
        return args

    def state_dict(self) -> dict[str, Any]:
        """``{"kind", "meta", "arrays"}``: constructor arguments, step, RNG state and μ/σ arrays (copies)."""
        meta = {
            "init": {**self._init_args(), "layers": list(self.layers)},
            "step": self._step,
            "rng": self._rng.bit_generator.state,
        }
        arrays = {}
        for name, m, s in zip(self.param_names, self._mu, self._sigma):
            arrays[f"mu_{name}"] = m.copy()
            arrays[f"sigma_{name}"] = s.copy()
        return {"kind": type(self).__name__, "meta": meta, "arrays": arrays}

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> MESULearner:
        meta, arrays = state["meta"], state["arrays"]
        obj = cls(**{"sampling": "weights", **meta["init"]})  # files store sampling only when not "weights"
        mus, sigmas = [], []
        for name, ref in zip(obj.param_names, obj._mu):
            m = np.asarray(arrays[f"mu_{name}"])
            s = np.asarray(arrays[f"sigma_{name}"])
            if m.shape != ref.shape or s.shape != ref.shape:
                raise ValueError(f"array {name} has shape {m.shape}/{s.shape}, architecture needs {ref.shape}")
            if not (np.all(np.isfinite(m)) and np.all(np.isfinite(s)) and np.all(s > 0)):
                raise ValueError(f"array {name} holds non-finite μ or non-positive σ")
            mus.append(m.astype(obj.dtype))
            sigmas.append(s.astype(obj.dtype))
        obj._mu, obj._sigma = mus, sigmas
        obj._step = int(meta["step"])
        obj._rng.bit_generator.state = meta["rng"]
        return obj


def _unzip(params: list[np.ndarray], bias: bool) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
    if bias:
        return params[0::2], list(params[1::2])
    return list(params), [None] * len(params)


def _zip(ws: list[np.ndarray], bs: list[np.ndarray | None], bias: bool) -> list[np.ndarray]:
    if not bias:
        return list(ws)
    out: list[np.ndarray] = []
    for w, b in zip(ws, bs):
        assert b is not None
        out.extend([w, b])
    return out


def _split_layers(params: list[np.ndarray], layers: tuple[int, ...], bias: bool) -> list[tuple[np.ndarray, np.ndarray]]:
    weights, biases = _unzip(params, bias)
    return [
        (w.astype(np.float64), np.zeros(w.shape[-1]) if b is None else b.astype(np.float64))
        for w, b in zip(weights, biases)
    ]
