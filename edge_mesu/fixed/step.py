"""The fixed-point MESU step, written once: D devices' integer forward, backward and update together.

A :class:`FixedState` holds the learning state of D devices of one network (a leading device axis): μ
``(D, P)`` int16, σ codes ``(D, P)`` uint8, and per device the PRNG seed and step counter. The functions here
are the device's arithmetic: :func:`learn` (one MESU step of every device on its own mini-batch),
:func:`proba_q15` (mean network), :func:`sampled_proba_q15` (weight samples, for uncertainty) and
:func:`prior_step` (the prior pull alone). :class:`~edge_mesu.fixed.FixedMESULearner` is the one-device
case and :class:`~edge_mesu.fleet.Fleet` the many-device case of the same calls; the C port
(``csrc/template_core.c``) runs :func:`learn` for D = 1, bit for bit.

Per device the random numbers are those of :mod:`.prng` at (seed, step, stream): stream s < S draws the
weight sample s of a learn step, streams ``PREDICT_STREAM + s`` the weight samples of a prediction, so
predicting never moves the learner. The parameters sit in one flat vector, layer after layer (weights
row-major ``(fan_in, fan_out)``, then the biases), described by a :class:`Layout`.

Example
-------
>>> import numpy as np
>>> from edge_mesu.fixed import FixedMESULearner
>>> spec = FixedMESULearner((4, 3, 2), seed=0).step_spec()
>>> state = FixedState.replicate(np.zeros(spec.layout.n_params, np.int16), np.full(spec.layout.n_params, 40,
...                              np.uint8), seeds=[1, 2], step=0)
>>> x_q = np.ones((2, 1, 4), dtype=np.int64) << 5; y = np.array([[0], [1]])
>>> mu, code = learn(spec, state, x_q, y, SaturationCounter())
>>> mu.shape, code.dtype.name
((2, 23), 'uint8')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .kernels import _bitlen, backward, forward, sample_weights, softmax_q15
from .lrt import lrt_eps, lrt_pass
from .plan import GE_SHIFT, FixedPlan
from .prng import SR_STREAM, draws_at, gaussian_from_bits, sr_bits, step_keys
from .qformat import Rounding, SaturationCounter
from .rounding import div_round_even
from .rule import CodeTables, LayerSlice, mesu_step_int, rhu

__all__ = [
    "FixedState",
    "Layout",
    "PREDICT_STREAM",
    "PRIOR_STREAM",
    "StepSpec",
    "gradients",
    "learn",
    "lrt_gradients",
    "mu_gradients",
    "prior_step",
    "proba_q15",
    "sampled_proba_q15",
    "weight_sample",
]

PREDICT_STREAM = 0x10000  # prediction weight sample s uses stream 0x10000 + s: never one of learning
PRIOR_STREAM = 0x20000  # prior-only steps (fleet fusion's reference decay): never one of learning


@dataclass(frozen=True)
class Layout:
    """Where each parameter array lives in the flat vector: ``w0, b0, w1, b1, ...`` (no ``b*`` without bias)."""

    layers: tuple[int, ...]
    bias: bool
    shapes: tuple[tuple[int, ...], ...]
    offsets: tuple[int, ...]  # start of each array, then the total
    slices: tuple[LayerSlice, ...]  # each layer's [start, stop)

    @classmethod
    def of(cls, layers: tuple[int, ...], bias: bool) -> Layout:
        shapes: list[tuple[int, ...]] = []
        for fan_in, fan_out in zip(layers[:-1], layers[1:]):
            shapes.append((fan_in, fan_out))
            if bias:
                shapes.append((fan_out,))
        offsets = [0]
        for shape in shapes:
            offsets.append(offsets[-1] + int(np.prod(shape)))
        per = 2 if bias else 1
        slices = tuple(LayerSlice(l, offsets[per * l], offsets[per * l + per]) for l in range(len(layers) - 1))
        return cls(tuple(layers), bool(bias), tuple(shapes), tuple(offsets), slices)

    @property
    def n_params(self) -> int:
        return self.offsets[-1]

    @property
    def n_layers(self) -> int:
        return len(self.layers) - 1

    def layer_of(self, index: int) -> int:
        """The layer of parameter array ``index``."""
        return index // 2 if self.bias else index

    def views(self, flat: np.ndarray) -> list[np.ndarray]:
        """Per-array views ``(..., *shape)`` of a flat ``(..., P)`` array."""
        lead = flat.shape[:-1]
        return [
            flat[..., a:b].reshape(lead + shape) for a, b, shape in zip(self.offsets, self.offsets[1:], self.shapes)
        ]

    def split(self, flat: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
        """Weights ``(..., fan_in, fan_out)`` and biases ``(..., 1, fan_out)`` (None without bias) of ``flat``."""
        views = self.views(flat)
        if not self.bias:
            return views, [None] * len(views)
        return views[0::2], [b[..., None, :] for b in views[1::2]]


@dataclass(frozen=True)
class StepSpec:
    """What the step needs besides the state: the plan, the layout and the learner's update options."""

    plan: FixedPlan
    layout: Layout
    rounding: Rounding
    train_samples: int = 1
    sigma_grad: str = "reparam"
    sampling: str = "weights"  # "lrt": pre-activations sampled in the learn step (:mod:`.lrt`)

    @property
    def logits_frac(self) -> int:
        return self.plan.in_frac(self.layout.n_layers - 1) + self.plan.mu_fmts[-1].frac


@dataclass
class FixedState:
    """The learning state of D devices: μ ``(D, P)`` int16, σ codes ``(D, P)`` uint8, seeds and steps ``(D,)``.

    ``tables`` optionally caches the per-parameter code tables of ``code`` (:class:`CodeTables`, built by
    :meth:`code_tables`): a one-device learner keeps it and refreshes the few entries whose code moved; a
    fleet leaves it None (the tables of D devices would be large) and the step gathers them each time.
    Whoever replaces ``code`` must refresh or drop it.
    """

    mu: np.ndarray
    code: np.ndarray
    seed: np.ndarray
    step: np.ndarray
    tables: CodeTables | None = field(default=None, repr=False, compare=False)

    @classmethod
    def replicate(cls, mu: np.ndarray, code: np.ndarray, seeds: Any, step: int = 0) -> FixedState:
        """D devices (one per seed) starting from the same flat ``mu`` / ``code``."""
        seed = np.asarray([int(s) for s in seeds], dtype=np.int64)
        if seed.ndim != 1 or seed.size == 0 or (seed < 0).any():
            raise ValueError(f"seeds must be a non-empty list of integers >= 0, got {list(seeds)!r}")
        D = seed.size
        return cls(
            np.tile(np.asarray(mu, dtype=np.int16), (D, 1)),
            np.tile(np.asarray(code, dtype=np.uint8), (D, 1)),
            seed,
            np.full(D, int(step), dtype=np.int64),
        )

    @property
    def n_devices(self) -> int:
        return int(self.seed.size)

    def code_tables(self, spec: StepSpec) -> CodeTables:
        """The cached code tables of ``code``, built and kept on first use."""
        if self.tables is None:
            self.tables = _tables(spec, self.code)
        return self.tables


def _tables(spec: StepSpec, code: np.ndarray) -> CodeTables:
    return CodeTables(spec.plan, list(spec.layout.slices), code.astype(np.intp), lrt=spec.sampling == "lrt")


# -- one weight sample and the passes ---------------------------------------------------------------------
def weight_sample(
    spec: StepSpec,
    mu: np.ndarray,
    sig: np.ndarray,
    seed: np.ndarray,
    step: np.ndarray,
    stream: int,
    counter: SaturationCounter,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(draws, ε, w) ``(D, P)`` of one weight sample of every device; ``mu`` int64, ``sig`` the σ samples."""
    draws = draws_at(step_keys(seed, step, stream), spec.layout.n_params)
    eps = gaussian_from_bits(draws)
    w = np.empty(mu.shape, dtype=np.int64)
    for sl in spec.layout.slices:
        s = np.s_[..., sl.start : sl.stop]
        shift = spec.plan.tables["sample_shift"][sl.layer]
        w[s] = sample_weights(mu[s], sig[s], eps[s], shift, spec.plan.mu_fmts[sl.layer], counter)
    return draws, eps, w


def _logits(
    spec: StepSpec, x_q: np.ndarray, params: np.ndarray, counter: SaturationCounter
) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    weights, biases = spec.layout.split(params)
    return forward(spec.plan, x_q, weights, biases, counter)


def _rows(spec: StepSpec, flat: np.ndarray, l: int) -> np.ndarray:
    """Layer ``l`` of a flat ``(..., P)`` array as ``(..., rows, fan_out)`` (the biases are the last row)."""
    sl = spec.layout.slices[l]
    return flat[..., sl.start : sl.stop].reshape(flat.shape[:-1] + (-1, spec.layout.layers[l + 1]))


def gradients(
    spec: StepSpec, x_q: np.ndarray, y: np.ndarray, params: np.ndarray, counter: SaturationCounter
) -> tuple[np.ndarray, np.ndarray]:
    """(g16, τ) flat ``(D, P)``: the gradient Σ_batch a ⊗ δ16 at weights ``params`` is ``g16 · 2**(τ − G)``
    with |g16| <= 2**15 and τ constant along a row (bias gradients use a = 2**in_frac); ``x_q``
    ``(D, B, n_in)``, ``y`` ``(D, B)``.

    Per layer δ16 carries a block exponent e (:func:`~.kernels.normalize_delta`; a batch aligns its rows to
    the largest); per row t = max(0, bitlen(max_j |G_ij|) − 15, tau_min − e) and g16 = round_half_up(G / 2**t),
    τ = e + t (tau_min: the layer's floor that keeps the prior pull within 2**15 units).
    For one sample (B = 1) max_j |a_i δ16_j| = |a_i| · max_j |δ16_j|: the device's one multiply per row.
    """
    weights, biases = spec.layout.split(params)
    logits, acts, zs = forward(spec.plan, x_q, weights, biases, counter)
    p = softmax_q15(spec.plan, logits, spec.logits_frac)
    deltas = backward(spec.plan, weights, acts, zs, p, y, counter)
    return mu_gradients(spec, acts, deltas, params.shape)


def mu_gradients(
    spec: StepSpec, acts: list[np.ndarray], deltas: list[tuple[np.ndarray, np.ndarray]], shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """(g16, τ) flat ``shape`` of the layer inputs ``acts`` and the (δ16, e) ``deltas`` (see :func:`gradients`)."""
    g16 = np.empty(shape, dtype=np.int32)
    tau = np.empty(shape, dtype=np.int32)
    for l, (a, (d16, e)) in enumerate(zip(acts, deltas)):
        if spec.layout.bias:
            one = np.full(a.shape[:-1] + (1,), 1 << spec.plan.in_frac(l), dtype=np.int64)
            a = np.concatenate([a, one], axis=-1)
        e_max = e.max(axis=-2, keepdims=True)
        if a.shape[-2] == 1:  # |a| <= 2**15, Σ|δ16| < 2**16: every product fits int32
            a0, d0 = a[..., 0, :].astype(np.int32), d16[..., 0, :].astype(np.int32)
            peak = np.abs(a0).astype(np.int64) * np.abs(d0).max(axis=-1, keepdims=True)
            G = a0[..., :, None] * d0[..., None, :]
        else:
            d16 = rhu(d16, e_max - e)
            G = np.matmul(np.swapaxes(a, -1, -2), d16)  # int64: exact
            peak = np.abs(G).max(axis=-1)
        t = np.maximum(
            np.maximum(_bitlen(peak) - 15, 0)[..., None], spec.plan.tables["tau_min"][l] - e_max[..., 0, :, None]
        )
        _rows(spec, g16, l)[...] = rhu(G, t)
        _rows(spec, tau, l)[...] = t + e_max[..., 0, :, None]
    return g16, tau


def lrt_gradients(
    spec: StepSpec,
    x_q: np.ndarray,
    y: np.ndarray,
    mu: np.ndarray,
    sq16: np.ndarray,
    eps: list[np.ndarray],
    counter: SaturationCounter,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(g16, τ, h16, τσ) flat ``(D, P)`` of local reparameterisation (:mod:`.lrt`): ∂C/∂μ = g16·2**(τ − G) as in
    :func:`gradients` and ∂C/∂σ = σ·h16·2**τσ, for the pre-activation sample ``eps`` at means ``mu`` (int64
    ``(D, P)``) with per-parameter σ² table values ``sq16``; ``x_q`` ``(D, B, n_in)``, ``y`` ``(D, B)``."""
    weights, biases = spec.layout.split(mu)
    sq_w, sq_b = spec.layout.split(sq16)
    acts, deltas, rows = lrt_pass(spec.plan, x_q, y, weights, biases, sq_w, sq_b, eps, counter)
    g16, tau = mu_gradients(spec, acts, deltas, mu.shape)
    h16 = np.empty(mu.shape, dtype=np.int32)
    tau_s = np.empty(mu.shape, dtype=np.int32)
    for l, (h, t) in enumerate(rows):
        _rows(spec, h16, l)[...] = h
        _rows(spec, tau_s, l)[...] = t
    return g16, tau, h16, tau_s


def _align(x: np.ndarray, tau: np.ndarray, target: np.ndarray) -> np.ndarray:
    return rhu(x, target - tau)


def learn(
    spec: StepSpec,
    state: FixedState,
    x_q: np.ndarray,
    y: np.ndarray,
    counter: SaturationCounter,
    devices: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One MESU step of every device (or of ``devices``) on its rows: returns the new (μ, σ code) of those
    devices; the state is not modified (the caller commits it and advances ``step``).

    ``x_q`` ``(D', B, n_in)`` integers of the input format, ``y`` ``(D', B)`` labels in range (checked by the
    caller). Saturation events of every device are added to ``counter``. With S > 1 weight samples (or the
    centered σ gradient) each sample's g16 is aligned to the largest τ of its row, summed and divided by S.
    """
    if devices is None:
        mu16, code8, seed, step = state.mu, state.code, state.seed, state.step
        tables = state.tables if state.tables is not None else _tables(spec, code8)
    else:
        mu16, code8, seed, step = state.mu[devices], state.code[devices], state.seed[devices], state.step[devices]
        tables = _tables(spec, code8)
    mu = mu16.astype(np.int64)
    if spec.sampling == "lrt":
        return _learn_lrt(spec, mu, code8, seed, step, tables, x_q, y, counter)
    sig = tables.sig16
    samples = []
    draws0 = None
    for s in range(spec.train_samples):
        draws, eps, w = weight_sample(spec, mu, sig, seed, step, s, counter)
        draws0 = draws if draws0 is None else draws0
        samples.append((*gradients(spec, x_q, y, w, counter), eps))
    g0 = gradients(spec, x_q, y, mu, counter) if spec.sigma_grad == "centered" else None
    if len(samples) == 1 and g0 is None:
        g16, tau, eps = samples[0]
        ge = rhu(g16 * eps, GE_SHIFT)
    else:
        tau = np.max([sm[1] for sm in samples] + ([g0[1]] if g0 is not None else []), axis=0)
        g_sum = np.zeros(mu.shape, dtype=np.int64)
        ge_sum = np.zeros(mu.shape, dtype=np.int64)
        base = np.zeros(mu.shape, dtype=np.int64) if g0 is None else _align(g0[0], g0[1], tau)
        for g_s, tau_s, eps in samples:
            g_s = _align(g_s, tau_s, tau)
            g_sum += g_s
            ge_sum += rhu((g_s - base) * eps, GE_SHIFT)
        g16 = div_round_even(g_sum, spec.train_samples)
        ge = div_round_even(ge_sum, spec.train_samples)
    assert draws0 is not None
    rnd_sig = sr_bits(draws0)
    rnd_mu = sr_bits(draws_at(step_keys(seed, step, SR_STREAM), spec.layout.n_params))
    return mesu_step_int(
        spec.plan, list(spec.layout.slices), mu, code8, g16, tau, ge, rnd_mu, rnd_sig, spec.rounding, counter, tables
    )


def _learn_lrt(
    spec: StepSpec,
    mu: np.ndarray,
    code8: np.ndarray,
    seed: np.ndarray,
    step: np.ndarray,
    tables: CodeTables,
    x_q: np.ndarray,
    y: np.ndarray,
    counter: SaturationCounter,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`learn` with local reparameterisation: pre-activation ε from ``LRT_STREAM + s``; the rounding
    uniforms are those of weight sampling (stream 0's low bits for σ, ``SR_STREAM`` for μ), so a device
    draws the same per-parameter hashes; S > 1 samples are aligned to the largest exponent and averaged."""
    B = x_q.shape[-2]
    grads = [
        lrt_gradients(spec, x_q, y, mu, tables.sq16, lrt_eps(spec.layout.layers[1:], seed, step, s, B), counter)
        for s in range(spec.train_samples)
    ]
    if len(grads) == 1:
        g16, tau, h16, tau_s = grads[0]
    else:
        tau = np.max([g[1] for g in grads], axis=0)
        tau_s = np.max([g[3] for g in grads], axis=0)
        g16 = div_round_even(np.sum([_align(g[0], g[1], tau) for g in grads], axis=0), spec.train_samples)
        h16 = div_round_even(np.sum([_align(g[2], g[3], tau_s) for g in grads], axis=0), spec.train_samples)
    n = spec.layout.n_params
    rnd_sig = sr_bits(draws_at(step_keys(seed, step, 0), n))
    rnd_mu = sr_bits(draws_at(step_keys(seed, step, SR_STREAM), n))
    zero = np.zeros(1, dtype=np.int64)  # ge: unused under LRT
    return mesu_step_int(
        spec.plan,
        list(spec.layout.slices),
        mu,
        code8,
        g16,
        tau,
        zero,
        rnd_mu,
        rnd_sig,
        spec.rounding,
        counter,
        tables,
        lrt=(h16, tau_s),
    )


def prior_step(
    spec: StepSpec,
    mu: np.ndarray,
    code: np.ndarray,
    seed: int,
    step: int,
    tables: CodeTables | None = None,
    counter: SaturationCounter | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One step with zero gradient (the prior pull alone) of one flat state, rounding from
    :data:`PRIOR_STREAM` of (seed, step); returns the new (μ, σ code)."""
    zero = np.zeros(mu.shape, dtype=np.int64)
    tau = np.empty(mu.shape, dtype=np.int64)
    for sl in spec.layout.slices:
        tau[..., sl.start : sl.stop] = spec.plan.tables["tau_min"][sl.layer]
    n = mu.size
    rnd_sig = sr_bits(draws_at(step_keys(np.array([seed]), np.array([step]), PRIOR_STREAM), n)[0])
    rnd_mu = sr_bits(draws_at(step_keys(np.array([seed]), np.array([step]), PRIOR_STREAM + SR_STREAM), n)[0])
    return mesu_step_int(
        spec.plan,
        list(spec.layout.slices),
        mu.astype(np.int64),
        code,
        zero,
        tau,
        zero,
        rnd_mu,
        rnd_sig,
        spec.rounding,
        SaturationCounter() if counter is None else counter,
        tables,
    )


def proba_q15(spec: StepSpec, mu: np.ndarray, x_q: np.ndarray, counter: SaturationCounter) -> np.ndarray:
    """Q15 probabilities ``(..., B, C)`` of the mean network(s) ``mu`` ``(..., P)`` on ``x_q`` ``(..., B, n_in)``."""
    logits, _, _ = _logits(spec, x_q, mu.astype(np.int64), counter)
    return softmax_q15(spec.plan, logits, spec.logits_frac)


def sampled_proba_q15(
    spec: StepSpec,
    state: FixedState,
    x_q: np.ndarray,
    samples: int,
    counter: SaturationCounter,
    devices: np.ndarray | None = None,
) -> np.ndarray:
    """Q15 probabilities ``(S, D', B, C)`` of ``samples`` weight samples (streams ``PREDICT_STREAM + s``)."""
    if devices is None:
        mu16, seed, step = state.mu, state.seed, state.step
        sig = (state.tables if state.tables is not None else _tables(spec, state.code)).sig16
    else:
        mu16, seed, step = state.mu[devices], state.seed[devices], state.step[devices]
        sig = _tables(spec, state.code[devices]).sig16
    mu = mu16.astype(np.int64)
    out = [
        proba_q15(spec, weight_sample(spec, mu, sig, seed, step, PREDICT_STREAM + s, counter)[2], x_q, counter)
        for s in range(samples)
    ]
    return np.stack(out)
