"""FixedMESULearner: MESU with integer state and integer arithmetic only, as a microcontroller runs it.

State per parameter: μ as int16 and σ as a uint8 log-domain code in a per-layer window, k codes per octave
(48 with the device preset, 64 with the others; 3 bytes). The step counter and the seed are the whole
random-number state (the generator is counter-based). Floats appear only at the boundary: quantising the input
and reporting probabilities.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import replace
from typing import Any

import numpy as np

from .._validation import check_positive_int, check_X, check_x, check_X_q, check_y
from ..interface import Arithmetic, FixedNetwork, NetworkDescription, read_only
from ..learner_base import BaseLearner
from ..mesu import check_layers, check_options, paper_init
from ..mesu_rule import MESUConfig
from ..presets import DEFAULT, DEFAULT_PRESET, PRESETS, given, resolve
from ..statefile import StateFormatWarning
from ..uncertainty import Uncertainty, decompose
from . import step as fixed_step
from .buffers import ARENA_ALIGNMENT, arena_buffers
from .cgen import unsupported_reason
from .entropy import IntUncertainty, check_samples, decompose_q
from .formats import FORMAT_KEYS, FixedFormats
from .plan import P_FRAC, FixedPlan, auto_mu_frac
from .qformat import QFormat, Rounding, SaturationCounter
from .step import FixedState, Layout, StepSpec

__all__ = ["FixedMESULearner"]

SIGMA_HEADROOM = 1.0  # default σ window [σ_top·2**(−255/k), σ_top], σ_top = min(2 · initial σ, σ_prior)


def _c_kernels(learner: FixedMESULearner) -> Any:
    from .cbackend import load_c_kernels  # imported on demand: ctypes and a compiler only for backend="c"

    return load_c_kernels(learner)


class FixedMESULearner(BaseLearner):
    """MESU learner in fixed point (int16 μ, uint8 log-σ code, integer forward/backward/update).

    Parameters
    ----------
    layers, preset, config, N, sigma_prior, mu_prior, lr_mu, lr_sigma, c_sigma, ratio_max, sigma_step_max,
    sigma_min, sigma_init, train_samples, predict_samples, bias, sigma_grad, seed :
        as in :class:`edge_mesu.MESULearner` (the same presets and defaults, :mod:`edge_mesu.presets`);
        ``sigma_min`` maps to the largest σ code (a floor below the σ window's bottom changes nothing);
        ``sigma_grad="centered"`` subtracts the integer gradient at the mean weights before multiplying by ε.
    sampling : the preset's by default (``"lrt"`` for ``"device"``); ``"weights"`` (one ε per parameter,
        w = μ + σ·ε) or ``"lrt"`` (local
        reparameterisation: each layer's pre-activation is sampled, one ε per output, in integers as
        :mod:`edge_mesu.fixed.lrt`); as in :class:`edge_mesu.MESULearner`, only the learning step changes
        (prediction and uncertainty keep weight samples). ``"lrt"`` takes ``sigma_grad="reparam"``; with
        ``backend="c"`` its one-sample updates run in the generated C (bit-identical, as weight sampling's).
    sigma_max : σ of code 0 (the top of each layer's σ window), one value or one per layer (default:
        min(2 · the layer's initial σ, max(σ_prior, initial σ)); must be < 2).
    formats : a whole :class:`~edge_mesu.fixed.formats.FixedFormats` (its defaults are the defaults of the
        arguments below, which override single fields).
    input_frac, act_frac, mu_frac, sigma_bits, sigma_per_octave, rounding : the number formats and the update
        rounding (``"stochastic"`` or ``"nearest"``), see :class:`~edge_mesu.fixed.formats.FixedFormats`.
    backend : ``"numpy"`` (default) or ``"c"``: one-sample updates run in the generated C library
        (:mod:`edge_mesu.fixed.cbackend`, compiled once and cached), bit-identical to numpy; without a C
        compiler a warning is logged and numpy is used. Not part of the state file.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 4)); y = (X[:, 0] > 0).astype(int)
    >>> m = FixedMESULearner(layers=(4, 8, 2), N=1000, sigma_init=0.3, seed=1)
    >>> m.learn_many(X, y)
    >>> float((m.predict(X) == y).mean()) > 0.8, m.state_nbytes() / m.n_params()
    (True, 3.0)
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
        sigma_max: float | list[float] | None = DEFAULT,
        sigma_init: float | str = DEFAULT,
        train_samples: int = DEFAULT,
        predict_samples: int = DEFAULT,
        bias: bool = DEFAULT,
        seed: int = 0,
        formats: FixedFormats | None = None,
        input_frac: int = DEFAULT,
        act_frac: int = DEFAULT,
        mu_frac: list[int] | None = DEFAULT,
        sigma_bits: int = DEFAULT,
        sigma_per_octave: int = DEFAULT,
        rounding: str = DEFAULT,
        backend: str = "numpy",
        sigma_grad: str = DEFAULT,
        sampling: str = DEFAULT,
    ) -> None:
        self.layers = check_layers(layers)
        tops_arg = sigma_max if isinstance(sigma_max, (list, tuple)) else None  # per-layer σ windows
        # one MESUConfig, validated exactly as the float learner's (σ_max: the highest window top)
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
                sigma_max=sigma_max if tops_arg is None else max(tops_arg),
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
        fmt = _formats(
            formats,
            dict(PRESETS[preset].formats),
            given(
                input_frac=input_frac,
                act_frac=act_frac,
                mu_frac=mu_frac,
                sigma_bits=sigma_bits,
                sigma_per_octave=sigma_per_octave,
                rounding=rounding,
            ),
        )
        self.seed = check_positive_int(seed, "seed", minimum=0)
        try:
            self.rounding = Rounding("nearest_even" if fmt.rounding == "nearest" else fmt.rounding)
        except ValueError:
            raise ValueError(f"rounding must be 'stochastic' or 'nearest', got {fmt.rounding!r}") from None
        self.plan = self._plan(fmt, self.config.sigma_max if tops_arg is None else tops_arg)
        if self.sigma_grad != "reparam" and backend == "c":
            raise ValueError("backend='c' implements sigma_grad='reparam' only")
        if backend not in ("numpy", "c"):
            raise ValueError(f"backend must be 'numpy' or 'c', got {backend!r}")
        self._layout = Layout.of(self.layers, self.bias)
        self._spec = StepSpec(
            self.plan, self._layout, self.rounding, self.train_samples, self.sigma_grad, self.sampling
        )
        rng = np.random.Generator(np.random.PCG64(self.seed))
        mus, sigmas = paper_init(self.layers, self.bias, rng, self.sigma_init)
        self._state = FixedState(
            np.zeros((1, 0), np.int16),
            np.zeros((1, 0), np.uint8),
            np.array([self.seed], dtype=np.int64),
            np.zeros(1, dtype=np.int64),
        )
        self._set_from_float(mus, sigmas)
        self.counters = SaturationCounter()
        self.backend = backend
        self._c = _c_kernels(self) if backend == "c" else None

    def __getstate__(self) -> dict[str, Any]:  # ctypes library and code tables: rebuilt on use
        state = FixedState(self._state.mu, self._state.code, self._state.seed, self._state.step)
        return {**self.__dict__, "_c": None, "_state": state}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._c = _c_kernels(self) if self.backend == "c" else None

    def _plan(self, fmt: FixedFormats, sigma_max: float | list[float] | tuple[float, ...] | None) -> FixedPlan:
        """The frozen plan: formats, each layer's σ window (top ``sigma_max``, one or per layer), tables."""
        fans = self.layers[:-1]
        mu_frac = [auto_mu_frac(f) for f in fans] if fmt.mu_frac is None else [int(v) for v in fmt.mu_frac]
        if len(mu_frac) != len(fans):
            raise ValueError(f"mu_frac needs {len(fans)} entries (one per layer), got {len(mu_frac)}")
        init_sigmas = [2.0 / math.sqrt(f) if self.sigma_init == "paper" else float(self.sigma_init) for f in fans]
        k = check_positive_int(fmt.sigma_per_octave, "sigma_per_octave")
        prior = self.config.sigma_prior
        if sigma_max is None:  # each layer's window: SIGMA_HEADROOM octaves above its initial σ, not above σ_prior
            tops = [min(s * 2.0**SIGMA_HEADROOM, max(prior, s)) for s in init_sigmas]
        else:
            tops = [float(v) for v in (sigma_max if isinstance(sigma_max, (list, tuple)) else [sigma_max] * len(fans))]
            if len(tops) != len(fans) or not all(math.isfinite(v) and v > 0 for v in tops):
                raise ValueError(f"sigma_max needs one finite value > 0 per layer ({len(fans)}), got {sigma_max!r}")
        self._sigma_tops = tops
        top = max(tops)
        offsets = tuple(int(round(k * math.log2(top / v))) for v in tops)
        code_max = (1 << fmt.sigma_bits) - 1
        if self.config.sigma_min is not None:  # the smallest σ allowed is the largest code (FixedPlan.code_of_sigma)
            lowest = -k * math.log2(max(self.config.sigma_min, 1e-300) / top)
            code_max = int(min(min(max(round(lowest) - off, 0), code_max) for off in offsets))
        return FixedPlan(
            layers=self.layers,
            bias=self.bias,
            input_fmt=QFormat(8, fmt.input_frac),
            act_fmt=QFormat(16, fmt.act_frac),
            mu_fmts=tuple(QFormat(16, f) for f in mu_frac),
            sigma_bits=fmt.sigma_bits,
            sigma_per_octave=k,
            sigma_max=top,
            rule=self.config,
            code_min=0,
            code_max=code_max,
            code_offset=offsets,
        )

    def step_spec(self) -> StepSpec:
        """The plan, layout and update options of this learner's integer step (:mod:`.step`)."""
        return self._spec

    # -- conversion ------------------------------------------------------------------------------------------
    def _layer_of(self, index: int) -> int:
        return self._layout.layer_of(index)

    def _set_from_float(self, mus: list[np.ndarray], sigmas: list[np.ndarray]) -> None:
        lims = self.plan.tables["mu_lim"]  # |μ| <= mu_lim: a weight sample μ + σε always fits int16
        self._mu = np.concatenate(
            [
                np.clip(
                    self.plan.mu_fmts[self._layer_of(i)].quantize(m), -lims[self._layer_of(i)], lims[self._layer_of(i)]
                ).ravel()
                for i, m in enumerate(mus)
            ]
        ).astype(np.int16)
        self._code = np.concatenate(
            [self.plan.code_of_sigma(s, self._layer_of(i)).ravel() for i, s in enumerate(sigmas)]
        ).astype(np.uint8)

    # the one-device state: flat views of the FixedState's row 0
    @property
    def _mu(self) -> np.ndarray:
        return self._state.mu[0]

    @_mu.setter
    def _mu(self, value: np.ndarray) -> None:
        self._state.mu = np.asarray(value, dtype=np.int16).reshape(1, -1)

    @property
    def _code(self) -> np.ndarray:
        return self._state.code[0]

    @_code.setter
    def _code(self, value: np.ndarray) -> None:  # a new code vector: the cached tables are rebuilt on use
        self._state.code = np.asarray(value, dtype=np.uint8).reshape(1, -1)
        self._state.tables = None

    @property
    def _step(self) -> int:
        return int(self._state.step[0])

    @_step.setter
    def _step(self, value: int) -> None:
        self._state.step[0] = int(value)

    def _views(self, flat: np.ndarray) -> list[np.ndarray]:
        """Per-parameter views (w0, b0, w1, ...) of a flat vector."""
        return self._layout.views(flat)

    @classmethod
    def from_float(cls, learner: Any, **overrides: Any) -> FixedMESULearner:
        """A fixed-point learner with the float learner's hyper-parameters and its μ, σ quantised.

        ``overrides`` set fixed-point options (``mu_frac``, ``rounding``, ...) or replace hyper-parameters.
        """
        args = {
            "layers": learner.layers,
            **learner.config.to_dict(),
            "sigma_init": learner.sigma_init,
            "train_samples": learner.train_samples,
            "predict_samples": learner.predict_samples,
            "bias": learner.bias,
            "seed": learner.seed,
            "sigma_grad": learner.sigma_grad,
            "sampling": learner.sampling,
        }
        args.update(overrides)
        obj = cls(**args)
        params = learner.params()
        obj._set_from_float([params[n][0] for n in obj.param_names], [params[n][1] for n in obj.param_names])
        obj._step = int(learner.step)
        return obj

    # -- public views ----------------------------------------------------------------------------------------
    def n_params(self) -> int:
        return int(self._mu.size)

    def state_nbytes(self) -> int:
        """Exact bytes of the learning state: int16 μ and uint8 σ code of every weight and bias."""
        return int(self._mu.nbytes + self._code.nbytes)

    def flat_state(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the flat state vectors (μ int16, σ code uint8), layer after layer: ``w0, b0, w1, ...``."""
        return self._mu.copy(), self._code.copy()

    def int_params(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Copies of ``{name: (μ int16, σ code uint8)}``: the device's state arrays."""
        return {
            n: (m.copy(), c.copy()) for n, m, c in zip(self.param_names, self._views(self._mu), self._views(self._code))
        }

    def params(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``{name: (μ, σ)}`` dequantised to float64."""
        return {
            n: (self.plan.mu_fmts[self._layer_of(i)].dequantize(m), self.plan.sigma_of_code(c, self._layer_of(i)))
            for i, (n, m, c) in enumerate(zip(self.param_names, self._views(self._mu), self._views(self._code)))
        }

    def mean_params(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The mean network as ``[(W, b), ...]`` in float64 (dequantised μ; zero biases if none)."""
        p = self.params()
        return [
            (p[f"w{l}"][0], p[f"b{l}"][0] if self.bias else np.zeros(self.layers[l + 1])) for l in range(self.n_layers)
        ]

    @property
    def input_format(self) -> QFormat:
        """The integer format this learner reads natively (its ``*_q`` entry points take it)."""
        return self.plan.input_fmt

    def describe(self) -> NetworkDescription:
        """The network as data: formats, integer state and plan, operation and buffer lists (read-only)."""
        plan = self.plan
        arith = Arithmetic(False, plan.input_fmt.bits, plan.act_fmt.bits, 16, 16, plan.sigma_bits, 32, 32)
        fixed = FixedNetwork(
            plan,
            self.rounding,
            self._layout,
            self.train_samples,
            read_only(self._mu),
            read_only(self._code),
            self.seed,
            self._step,
            self.counters.as_dict(),
            self.sampling,
            self.sigma_grad,
        )
        # the buffer lists describe the C port, where it exists
        buffers = (
            {}
            if unsupported_reason(fixed)
            else {p: tuple(arena_buffers(self.layers, p, self.sampling)) for p in ("predict", "learn")}
        )
        return NetworkDescription(
            kind=type(self).__name__,
            layers=self.layers,
            bias=self.bias,
            train_samples=self.train_samples,
            predict_samples=self.predict_samples,
            sampling=self.sampling,
            arithmetic=arith,
            n_params=self.n_params(),
            state_nbytes=self.state_nbytes(),
            mean_params=tuple((read_only(w), read_only(b)) for w, b in self.mean_params()),
            posterior=tuple((n, read_only(m), read_only(s)) for n, (m, s) in self.params().items()),
            input_format=plan.input_fmt,
            config=self.config,
            fixed=fixed,
            buffer_lists=buffers,
            arena_alignment=ARENA_ALIGNMENT,
        )

    # -- integer entry points ---------------------------------------------------------------------------------
    def quantize(self, X: object) -> np.ndarray:
        """Float inputs ``(n, n_features)`` (or one ``(n_features,)`` row) as int8 in the input format
        (round half to even, saturated): what :meth:`learn_many_q` and :meth:`proba_q15` take."""
        from .._validation import check_X

        Xa = check_X(np.atleast_2d(np.asarray(X)), self.n_features)
        return self.plan.input_fmt.quantize(Xa).astype(self.plan.input_fmt.dtype)

    def _check_q(self, X_q: object) -> np.ndarray:
        fmt = self.plan.input_fmt
        return check_X_q(X_q, self.n_features, fmt.min_int, fmt.max_int)

    def learn_one_q(self, x_q: object, y: object) -> None:
        """:meth:`learn_one` on an already-quantised input (integers of the input format, e.g. a front
        end's int8 window); nothing is converted. Bad input raises ``ValueError`` before any change."""
        X = self._check_q(x_q)
        if X.shape[0] != 1:
            raise ValueError(f"x_q must be one input of shape ({self.n_features},), got {np.asarray(x_q).shape}")
        self._learn_q(X, check_y(y, self.n_classes, 1), self.counters.copy())

    def learn_many_q(self, X_q: object, y: object) -> None:
        """:meth:`learn_many` (one sample per update) on already-quantised inputs ``(n, n_features)``."""
        X = self._check_q(X_q)
        Y = check_y(y, self.n_classes, X.shape[0])
        if self._c is not None:
            self._learn_rows_c(X, Y, self.counters.copy())
            return
        for i in range(X.shape[0]):
            self._learn_q(X[i : i + 1], Y[i : i + 1], self.counters.copy())

    def learn_many(self, X: object, y: object, batch_size: int | None = None) -> None:
        """Learn a sequence: sample by sample (default) or in mini-batches of ``batch_size`` (see
        :meth:`BaseLearner.learn_many`). With ``backend="c"`` and one sample per update, the whole sequence
        is one call into the C (the same updates as row by row, bit for bit)."""
        step = None if batch_size is None else check_positive_int(batch_size, "batch_size")
        if self._c is None or step not in (None, 1):
            super().learn_many(X, y, batch_size)
            return
        Xa = check_X(X, self.n_features)
        Ya = check_y(y, self.n_classes, Xa.shape[0])
        self._learn_float_c(Xa, Ya)

    def _learn_float_c(self, X: np.ndarray, y: np.ndarray) -> None:
        """Checked float rows, one update each, quantised and learned in one C call (the integers of
        :meth:`_quantize_input` then :meth:`_learn_rows_c`)."""
        assert self._c is not None
        events, input_sat = self._c.learn_float(self._mu, self._code, self.seed, self._step, X, y)
        self._commit_c(events, input_sat, X.shape[0])

    def _commit_c(self, events: dict[str, int], input_sat: int, n: int) -> None:
        """After ``n`` updates the C made in place: their saturation events (and saturated input values) added
        to the counters, the cached code tables dropped, the step advanced."""
        if input_sat or events:
            counter = self.counters.copy()
            if input_sat:
                counter.add("input", input_sat)
            for name, k in events.items():
                counter.add(name, k)
            self.counters = counter
        self._state.tables = None  # codes changed in place
        self._state.step += n

    def _learn_rows_c(self, x_q: np.ndarray, y: np.ndarray, counter: SaturationCounter) -> None:
        """Rows of int inputs, one update each, in one C call; ``counter`` (a copy) is committed here."""
        if x_q.shape[0] == 0:
            return
        assert self._c is not None
        for name, n in self._c.learn(self._mu, self._code, self.seed, self._step, x_q, y).items():
            counter.add(name, n)
        self._state.tables = None  # codes changed in place
        self.counters = counter
        self._state.step += x_q.shape[0]

    def proba_q15(self, X_q: object, samples: int = 0) -> np.ndarray:
        """The device's integer probabilities (Q15, int64) of already-quantised inputs, shape
        ``(max(samples, 1), n, n_classes)``: the mean network (``samples=0``) or each weight sample."""
        X = self._check_q(X_q)
        return self._proba_q15(X, check_positive_int(samples, "samples", minimum=0))

    def predict_proba_q(self, X_q: object, samples: int | None = None) -> np.ndarray:
        """:meth:`predict_proba` of already-quantised inputs (float probabilities of the Q15 outputs)."""
        X = self._check_q(X_q)
        samples = self.predict_samples if samples is None else check_positive_int(samples, "samples", minimum=0)
        return _normalise(self._proba_q15(X, samples)).mean(axis=0)

    def uncertainty_q(self, X_q: object, samples: int = 10) -> Uncertainty:
        """:meth:`uncertainty` of already-quantised inputs."""
        X = self._check_q(X_q)
        return decompose(_normalise(self._proba_q15(X, check_positive_int(samples, "samples", minimum=2))))

    def uncertainty_int_q(self, X_q: object, samples: int = 8) -> IntUncertainty:
        """The device's integer uncertainty of already-quantised inputs: ``samples`` weight samples (streams
        ``PREDICT_STREAM + s``, 2 <= samples <= 32), their mean Q15 probabilities and the predictive,
        aleatoric and mutual information in Q16 bits (:mod:`edge_mesu.fixed.entropy`), exactly what the
        generated C's ``NAME_uncertainty`` returns. Within 1e-4 bit of :meth:`uncertainty_q`'s floats."""
        X = self._check_q(X_q)
        k = check_samples(samples)
        # the generated C's NAME_uncertainty gives the same integers (tests/test_c_firmware.py); it regenerates
        # the weight samples per input, so numpy's shared samples win on batches of a large network
        if self._c is not None and self._c_rows(X.shape[0]):
            mean, ent = self._c.uncertainty(self._mu, self._code, self.seed, self._step, X, k)
            return IntUncertainty(mean_q15=mean, predictive=ent[:, 0], aleatoric=ent[:, 1], mi=ent[:, 2])
        return decompose_q(self._proba_q15(X, k))

    def predict_q15(self, X: np.ndarray) -> np.ndarray:
        """Integer probabilities (Q15) of the mean network for float inputs, exactly as the device computes them."""
        from .._validation import check_X

        Xa = check_X(X, self.n_features)
        return self._proba_q15(self._quantize_input(Xa, SaturationCounter()), 0)[0]

    # -- integer passes ----------------------------------------------------------------------------------------
    def _quantize_input(self, X: np.ndarray, counter: SaturationCounter) -> np.ndarray:
        if self._c is not None:  # the same integers in C (template_host.c), without numpy's temporaries
            q, sat = self._c.quantize(X)
            if sat:
                counter.add("input", sat)
            return q.astype(np.int64)
        return self.plan.input_fmt.quantize(X, counter, "input").astype(np.int64)

    def predict_one(self, x: object) -> int:
        """Most probable class of one sample; with ``backend="c"`` and the mean network, one C call."""
        if self._c is None or self.predict_samples != 0:
            return super().predict_one(x)
        return self._c.predict_float(self._mu, check_x(x, self.n_features))

    def learn_one(self, x: object, y: object) -> None:
        """Update the learner with one sample. Bad input raises ``ValueError`` before any state changes. With
        ``backend="c"`` a well-formed sample (a finite, C-contiguous float64 vector and an integer label in range)
        is learned in one C call without the general checks' temporaries; anything else takes those checks
        (the same errors, the same integers)."""
        c = self._c
        if (
            c is not None
            and type(x) is np.ndarray
            and x.dtype == np.float64
            and x.shape == (self.layers[0],)
            and x.flags.c_contiguous
            and isinstance(y, (int, np.integer))
            and not isinstance(y, (bool, np.bool_))
            and 0 <= y < self.layers[-1]
            and np.isfinite(x).all()
        ):
            events, input_sat = c.learn_float_one(self._mu, self._code, self.seed, self._step, x, int(y))
            self._commit_c(events, input_sat, 1)
            return
        super().learn_one(x, y)

    def _learn_batch(self, X: np.ndarray, y: np.ndarray) -> None:
        if self._c is not None and X.shape[0] == 1:
            self._learn_float_c(X, y)
            return
        counter = self.counters.copy()
        self._learn_q(self._quantize_input(X, counter), y, counter)

    def _learn_q(self, x_q: np.ndarray, y: np.ndarray, counter: SaturationCounter) -> None:
        """One update on int64 inputs ``(B, n_in)``; ``counter`` is a copy of the counters, committed here."""
        if self._c is not None and x_q.shape[0] == 1:  # the C library updates μ and the codes in place
            self._learn_rows_c(x_q, y, counter)
            return
        state = self._state
        old = state.code
        tables = state.code_tables(self._spec)
        new_mu, new_code = fixed_step.learn(self._spec, state, x_q[None], y[None], counter)
        tables.update(old, new_code)  # a few codes move per step: refresh those, keep the rest
        state.mu, state.code = new_mu, new_code
        self.counters = counter
        state.step += 1

    def _proba_q15(self, x_q: np.ndarray, samples: int) -> np.ndarray:
        scratch = SaturationCounter()  # prediction never changes the learner, counters included
        if samples == 0:
            if self._c is not None:  # the C's mean-network predict: the same integers (tests/test_c_firmware.py)
                return self._c.predict_q15(self._mu, x_q)[None].astype(np.int64)
            return fixed_step.proba_q15(self._spec, self._state.mu, x_q[None], scratch)
        if self._c is not None and self._c_rows(x_q.shape[0]):
            # each weight sample drawn once in C and run on every row: the same integers
            return self._c.sampled_q15(self._mu, self._code, self.seed, self._step, x_q, samples)
        self._state.code_tables(self._spec)  # keep the tables for the next calls
        return fixed_step.sampled_proba_q15(self._spec, self._state, x_q[None], samples, scratch)[:, 0]

    def _c_rows(self, n: int) -> bool:
        """Whether weight-sampled predictions of ``n`` rows run in C: numpy's BLAS products win from about 32
        rows of 784-50-10 on (measured: 1 row 1,442 vs 256 windows/s, 32 rows level, 128 rows 5,992 vs 12,215)."""
        return self._c is not None and (n <= 32 or self.n_params() <= 8192)

    def _sample_proba(self, X: np.ndarray, samples: int) -> np.ndarray:
        return _normalise(self._proba_q15(self._quantize_input(X, SaturationCounter()), samples))

    # -- persistence ---------------------------------------------------------------------------------------
    def _init_args(self) -> dict[str, Any]:
        return {
            "layers": self.layers,
            **self.config.to_dict(),
            "sigma_max": list(self._sigma_tops),
            "sigma_init": self.sigma_init,
            "train_samples": self.train_samples,
            "predict_samples": self.predict_samples,
            "bias": self.bias,
            "seed": self.seed,
            "input_frac": self.plan.input_fmt.frac,
            "act_frac": self.plan.act_fmt.frac,
            "mu_frac": [f.frac for f in self.plan.mu_fmts],
            "sigma_bits": self.plan.sigma_bits,
            "sigma_per_octave": self.plan.sigma_per_octave,
            "rounding": "nearest" if self.rounding is Rounding.NEAREST_EVEN else "stochastic",
            "sigma_grad": self.sigma_grad,
            "backend": self.backend,
            **({"sampling": self.sampling} if self.sampling != "weights" else {}),  # old files stay byte-identical
        }

    def state_dict(self) -> dict[str, Any]:
        init = {k: v for k, v in self._init_args().items() if k != "backend"}  # backend: not state
        meta = {
            "init": {**init, "layers": list(self.layers)},
            "step": self._step,
            "counters": self.counters.as_dict(),
            "plan": self.plan.to_dict(),
        }
        arrays: dict[str, np.ndarray] = {}
        for name, (m, c) in self.int_params().items():
            arrays[f"mu_{name}"] = m
            arrays[f"code_{name}"] = c
        return {"kind": type(self).__name__, "meta": meta, "arrays": arrays}

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> FixedMESULearner:
        meta, arrays = state["meta"], state["arrays"]
        obj = cls(**{"sampling": "weights", **meta["init"]})  # files store sampling only when not "weights"
        mus, codes = [], []
        for name, shape in zip(obj.param_names, obj._layout.shapes):
            m, c = np.asarray(arrays[f"mu_{name}"]), np.asarray(arrays[f"code_{name}"])
            if m.shape != shape or c.shape != shape:
                raise ValueError(f"array {name} has shape {m.shape}/{c.shape}, architecture needs {shape}")
            if m.dtype != np.int16 or c.dtype != np.uint8:
                raise ValueError(f"array {name} has dtypes {m.dtype}/{c.dtype}, expected int16/uint8")
            if c.size and (c.min() < obj.plan.code_min or c.max() > obj.plan.code_max):
                raise ValueError(f"array code_{name} holds σ codes outside [{obj.plan.code_min}, {obj.plan.code_max}]")
            mus.append(m.ravel())
            codes.append(c.ravel())
        mu = np.concatenate(mus).astype(np.int64)
        lim = np.concatenate(
            [np.full(sl.stop - sl.start, obj.plan.tables["mu_lim"][sl.layer]) for sl in obj._layout.slices]
        )
        beyond = int(np.count_nonzero(np.abs(mu) > lim))
        if beyond:  # only a format-1 state can hold them: μ + σε must fit int16 in format 2
            msg = f"{beyond} μ value(s) beyond the format-2 limit ±mu_lim of their layer were clamped on load"
            logging.getLogger(__name__).warning(msg)
            warnings.warn(msg, StateFormatWarning, stacklevel=2)
            mu = np.clip(mu, -lim, lim)
        obj._mu, obj._code = mu.astype(np.int16), np.concatenate(codes).astype(np.uint8)
        obj._step = int(meta["step"])
        obj.counters = SaturationCounter({k: int(v) for k, v in meta["counters"].items()})
        return obj


def _normalise(p_q15: np.ndarray) -> np.ndarray:
    """Q15 integer probabilities as floats that sum to one over the last axis."""
    p = p_q15.astype(np.float64) / float(1 << P_FRAC)
    return p / p.sum(axis=-1, keepdims=True)


def _formats(formats: FixedFormats | None, preset_formats: dict[str, Any], overrides: dict[str, Any]) -> FixedFormats:
    """``formats`` (default: :class:`FixedFormats` with the preset's fields) with the given fields replaced."""
    if formats is not None and not isinstance(formats, FixedFormats):
        raise ValueError(f"formats must be a FixedFormats, got {type(formats).__name__}")
    base = formats if formats is not None else FixedFormats(**preset_formats)
    if "mu_frac" in overrides and overrides["mu_frac"] is not None:
        overrides = {**overrides, "mu_frac": tuple(int(v) for v in overrides["mu_frac"])}
    assert set(overrides) <= set(FORMAT_KEYS)
    return replace(base, **overrides)
