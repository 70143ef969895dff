"""A fleet of fixed-point MESU learners stepped together: one vectorised update over a device axis.

Every device runs the same architecture and plan (formats, tables) as one :class:`FixedMESULearner`; only
its PRNG seed, its state (μ, σ code) and its step counter differ. The state is held layer-major: for layer
l a ``(D, P_l)`` block of every device's parameters of that layer (weights then bias, as in the learner's
flat vector). The integer rule :func:`edge_mesu.fixed.rule.mesu_step_int` is element-wise with per-layer
constants, so it runs once over the concatenated blocks with one :class:`LayerSlice` per layer; the matrix
products are batched over the device axis (``(D, 1, n_in) @ (D, n_in, n_out)``, exact as in
:mod:`edge_mesu.fixed.kernels`).

Each device's update is bit-identical to ``FixedMESULearner.learn_one`` on that device alone: same counter
-based draws (key of (seed, step, stream), index = the device's flat parameter index), same kernels, same
rounding. Saturation counters are summed over the fleet (the rule's counter receives totals).

Examples
--------
>>> import numpy as np
>>> from edge_mesu.fixed import FixedMESULearner
>>> fleet = Fleet.from_template(FixedMESULearner((4, 3, 2), seed=0), seeds=[1, 2, 3])
>>> x = np.zeros((3, 4)); y = np.array([0, 1, 0])
>>> fleet.learn(x, y); fleet.steps.tolist()
[1, 1, 1]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..fixed import FixedMESULearner
from ..fixed.kernels import ACC_FMT, forward, sample_weights, sigma_sample_table, softmax_q15
from ..fixed.plan import DH_FRAC, P_FRAC, SR_BITS
from ..fixed.prng import _SEED_SALT, GAMMA, gaussian_from_bits, mix64, step_key
from ..fixed.qformat import SaturationCounter
from ..fixed.rounding import shift_round_even
from ..fixed.rule import LayerSlice, mesu_step_int
from ..uncertainty import decompose

__all__ = ["Fleet", "PREDICT_STREAM", "solo_learner"]

PREDICT_STREAM = 0x10000  # as FixedMESULearner: prediction weight samples use streams 0x10000 + s
_MASK64 = (1 << 64) - 1


def _matmul_exact(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Exact integer ``a @ w`` (batched): float64 BLAS when every partial sum stays below 2**53, else int64."""
    bound = float(np.abs(a).max(initial=0)) * float(np.abs(w).max(initial=0)) * a.shape[-1]
    if bound < 2.0**53:
        return (a.astype(np.float64) @ w.astype(np.float64)).astype(np.int64)
    return a.astype(np.int64) @ w.astype(np.int64)


class Fleet:
    """D fixed-point MESU learners sharing one plan, stepped as one vectorised update.

    Parameters
    ----------
    template : the learner every device starts from (architecture, plan, hyper-parameters, state).
    seeds : one PRNG seed per device (the device's ``FixedMESULearner.seed``).
    """

    def __init__(self, template: FixedMESULearner, seeds: Sequence[int]) -> None:
        if template.train_samples < 1:
            raise ValueError("template.train_samples must be >= 1")
        self.template = template
        self.plan = template.plan
        self.seeds = np.asarray([int(s) for s in seeds], dtype=np.int64)
        if self.seeds.ndim != 1 or self.seeds.size == 0 or (self.seeds < 0).any():
            raise ValueError(f"seeds must be a non-empty list of integers >= 0, got {list(seeds)!r}")
        self._base = np.array([mix64(int(s) ^ _SEED_SALT) for s in self.seeds], dtype=np.uint64)
        params = template.int_params()
        names = template.param_names
        per_layer = 2 if template.bias else 1
        self._names = [names[i:i + per_layer] for i in range(0, len(names), per_layer)]
        self.shapes = [[params[n][0].shape for n in group] for group in self._names]
        sizes = [sum(int(np.prod(s)) for s in group) for group in self.shapes]
        offsets = np.cumsum([0] + sizes).tolist()
        self._counters = [(np.arange(a + 1, b + 1, dtype=np.uint64) * np.uint64(GAMMA)) for a, b in
                          zip(offsets, offsets[1:])]
        D = self.n_devices
        self.mu = [np.tile(np.concatenate([params[n][0].ravel() for n in g]), (D, 1)) for g in self._names]
        self.code = [np.tile(np.concatenate([params[n][1].ravel() for n in g]), (D, 1)) for g in self._names]
        self.steps = np.full(D, template.step, dtype=np.int64)
        self.counters = SaturationCounter()
        self._sig_tables = [sigma_sample_table(self.plan, l) for l in range(len(self.plan.mu_fmts))]
        # the vectorised key must be the generator's own (guards the private salt this module reuses)
        assert int(self._keys(np.array([0]), 3)[0]) == step_key(int(self.seeds[0]), int(self.steps[0]), 3)

    @classmethod
    def from_template(cls, template: FixedMESULearner, seeds: Sequence[int]) -> Fleet:
        return cls(template, seeds)

    # -- shapes --------------------------------------------------------------------------------------------
    @property
    def n_devices(self) -> int:
        return int(self.seeds.size)

    @property
    def n_layers(self) -> int:
        return len(self.mu)

    @property
    def layers(self) -> tuple[int, ...]:
        return self.template.layers

    def _w_size(self, l: int) -> int:
        return int(np.prod(self.shapes[l][0]))

    # -- randomness ---------------------------------------------------------------------------------------
    def _keys(self, idx: np.ndarray, stream: int) -> np.ndarray:
        """step_key(seed_d, step_d, stream) for devices ``idx``, vectorised in wrapping uint64."""
        steps = self.steps[idx].astype(np.uint64)
        with np.errstate(over="ignore"):
            z = self._base[idx] + steps * np.uint64(GAMMA) + np.uint64(stream)
        return mix64(z)

    def _draws(self, keys: np.ndarray, l: int) -> np.ndarray:
        """(D', P_l) draws: device d's indices of layer l, i.e. random_bits(...)[off_l:off_l + P_l]."""
        with np.errstate(over="ignore"):
            z = keys[:, None] + self._counters[l][None, :]
        return mix64(z)

    # -- passes ----------------------------------------------------------------------------------------------
    def _split(self, blocks: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
        """Batched (D', n_in, n_out) weights and (D', 1, n_out) biases from per-layer blocks."""
        weights, biases = [], []
        for l, blk in enumerate(blocks):
            n_in, n_out = self.shapes[l][0]
            weights.append(blk[:, :n_in * n_out].reshape(-1, n_in, n_out))
            biases.append(blk[:, n_in * n_out:].reshape(-1, 1, n_out) if self.template.bias else None)
        return weights, biases

    def _sample(self, idx: np.ndarray, stream: int, mu: list[np.ndarray], code: list[np.ndarray],
                counter: SaturationCounter) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
        """Per layer (draws, ε, w) of one weight sample for devices ``idx``."""
        keys = self._keys(idx, stream)
        draws, eps, w = [], [], []
        for l in range(self.n_layers):
            d = self._draws(keys, l)
            e = gaussian_from_bits(d)
            draws.append(d)
            eps.append(e)
            w.append(sample_weights(mu[l], np.take(self._sig_tables[l], code[l]), e, self.plan.mu_fmts[l], counter))
        return draws, eps, w

    def _gather(self, idx: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Per-layer μ (int64) and σ code (intp) of devices ``idx``."""
        if idx.size == self.n_devices:
            return [m.astype(np.int64) for m in self.mu], [c.astype(np.intp) for c in self.code]
        return [m[idx].astype(np.int64) for m in self.mu], [c[idx].astype(np.intp) for c in self.code]

    def _quantize(self, X: np.ndarray, counter: SaturationCounter) -> np.ndarray:
        Xa = np.asarray(X, dtype=np.float64)
        if Xa.ndim != 2 or Xa.shape[1] != self.layers[0]:
            raise ValueError(f"X must have shape (devices, {self.layers[0]}), got {Xa.shape}")
        if not np.all(np.isfinite(Xa)):
            raise ValueError("X contains non-finite values")
        return self.plan.input_fmt.quantize(Xa, counter, "input").astype(np.int64)[:, None, :]

    def _logits_frac(self) -> int:
        return self.plan.in_frac(self.n_layers - 1) + self.plan.mu_fmts[-1].frac

    def _backward(self, weights: list[np.ndarray], zs: list[np.ndarray], p_q15: np.ndarray, y: np.ndarray,
                  counter: SaturationCounter) -> list[np.ndarray]:
        """:func:`edge_mesu.fixed.kernels.backward` with a leading device axis (batch of one per device)."""
        delta = p_q15.copy()
        delta[np.arange(y.shape[0]), 0, y] -= 1 << P_FRAC
        deltas = [delta]
        for l in range(len(weights) - 1, 0, -1):
            back = _matmul_exact(delta, np.swapaxes(weights[l], -1, -2))
            shift = self.plan.mu_fmts[l].frac + self.plan.delta_frac(l) - DH_FRAC
            back = shift_round_even(back, shift) if shift >= 0 else back << -shift
            delta = ACC_FMT.saturate(back, counter, "delta") * (zs[l - 1] > 0)
            deltas.insert(0, delta)
        return deltas

    def _gradients(self, acts: list[np.ndarray], deltas: list[np.ndarray]) -> list[np.ndarray]:
        """Per layer (D', P_l) int64: a ⊗ δ, then δ at the weights' fractional bits for the bias."""
        out = []
        for l, (a, d) in enumerate(zip(acts, deltas)):
            g = (a[:, 0, :, None] * d[:, 0, None, :]).reshape(a.shape[0], -1)
            if self.template.bias:
                g = np.concatenate([g, d[:, 0, :] << self.plan.in_frac(l)], axis=1)
            out.append(g)
        return out

    # -- public verbs -------------------------------------------------------------------------------------
    def learn(self, X: np.ndarray, y: np.ndarray, active: np.ndarray | None = None) -> None:
        """One learn step of the devices ``active`` (all when None) on one sample each.

        ``X`` (D, n_in) and ``y`` (D,) hold one row per device of the fleet; rows of inactive devices are
        ignored. Equivalent to ``learner_d.learn_one(X[d], y[d])`` for every active device d.
        """
        idx = np.arange(self.n_devices) if active is None else np.flatnonzero(active)
        if idx.size == 0:
            return
        ya = np.asarray(y, dtype=np.int64)[idx]
        if ya.min() < 0 or ya.max() >= self.layers[-1]:
            raise ValueError(f"labels must be in [0, {self.layers[-1]})")
        counter = self.counters.copy()
        x_q = self._quantize(np.asarray(X)[idx], counter)
        mu, code = self._gather(idx)
        S = self.template.train_samples
        g_sum = ge_sum = draws0 = None
        for s in range(S):
            draws, eps, w = self._sample(idx, s, mu, code, counter)
            weights, biases = self._split(w)
            logits, acts, zs = forward(self.plan, x_q, weights, biases, counter)
            p = softmax_q15(self.plan, logits, self._logits_frac())
            g = self._gradients(acts, self._backward(weights, zs, p, ya, counter))
            ge = [gl * el for gl, el in zip(g, eps)]
            if s == 0:
                g_sum, ge_sum, draws0 = g, ge, draws
            else:
                g_sum = [a + b for a, b in zip(g_sum, g)]
                ge_sum = [a + b for a, b in zip(ge_sum, ge)]
        self._update(idx, mu, code, g_sum, ge_sum, draws0, counter)

    def _update(self, idx: np.ndarray, mu: list[np.ndarray], code: list[np.ndarray], g_sum: list[np.ndarray],
                ge_sum: list[np.ndarray], draws0: list[np.ndarray], counter: SaturationCounter) -> None:
        sizes = [m.size for m in mu]
        bounds = np.cumsum([0] + sizes).tolist()
        slices = [LayerSlice(l, a, b) for l, (a, b) in enumerate(zip(bounds, bounds[1:]))]
        flat = [np.concatenate([a.ravel() for a in arrs]) for arrs in (mu, code, g_sum, ge_sum, draws0)]
        mask = np.uint64((1 << SR_BITS) - 1)
        rnd_mu = ((flat[4] >> np.uint64(SR_BITS)) & mask).view(np.int64)
        rnd_sig = (flat[4] & mask).view(np.int64)
        new_mu, new_code = mesu_step_int(self.plan, slices, flat[0], flat[1].astype(np.intp), flat[2], flat[3],
                                         self.template.train_samples, rnd_mu, rnd_sig, self.template.rounding,
                                         counter)
        every = idx.size == self.n_devices
        for l, (a, b) in enumerate(zip(bounds, bounds[1:])):
            if every:  # all devices stepped: plain copies, no fancy indexing
                self.mu[l][...] = new_mu[a:b].reshape(self.mu[l].shape)
                self.code[l][...] = new_code[a:b].reshape(self.code[l].shape)
            else:
                self.mu[l][idx] = new_mu[a:b].reshape(len(idx), -1)
                self.code[l][idx] = new_code[a:b].reshape(len(idx), -1)
        self.steps[idx] += 1
        self.counters = counter

    def predict_q15(self, X: np.ndarray, idx: np.ndarray | None = None) -> np.ndarray:
        """Q15 probabilities (D', n, C) of each device's mean network on its rows ``X`` (D', n, n_in)."""
        idx = np.arange(self.n_devices) if idx is None else np.asarray(idx)
        Xa = np.asarray(X, dtype=np.float64)
        x_q = self.plan.input_fmt.quantize(Xa, SaturationCounter()).astype(np.int64)
        weights, biases = self._split([m[idx] for m in self.mu])
        logits, _, _ = forward(self.plan, x_q, weights, biases, SaturationCounter())
        return softmax_q15(self.plan, logits, self._logits_frac())

    def predict(self, X: np.ndarray, idx: np.ndarray | None = None) -> np.ndarray:
        """Mean-network class of one sample per device: X (D', n_in) → (D',), as ``predict_one``."""
        return self.predict_q15(np.asarray(X)[:, None, :], idx)[:, 0, :].argmax(axis=-1)

    def mutual_info(self, X: np.ndarray, idx: np.ndarray, samples: int = 8) -> np.ndarray:
        """Epistemic uncertainty (bits) of one sample per device ``idx``, as ``learner.uncertainty``."""
        scratch = SaturationCounter()
        x_q = self._quantize(np.asarray(X), scratch)
        mu, code = self._gather(np.asarray(idx))
        out = []
        for s in range(samples):
            _, _, w = self._sample(idx, PREDICT_STREAM + s, mu, code, scratch)
            weights, biases = self._split(w)
            logits, _, _ = forward(self.plan, x_q, weights, biases, scratch)
            out.append(softmax_q15(self.plan, logits, self._logits_frac())[:, 0, :])
        p = np.stack(out).astype(np.float64) / float(1 << P_FRAC)
        return decompose(p / p.sum(axis=-1, keepdims=True)).epistemic

    # -- devices as learners --------------------------------------------------------------------------------
    def device_state(self, d: int) -> dict[str, Any]:
        """The state dict of device ``d`` as a FixedMESULearner (saturation counters are fleet-wide: empty)."""
        state = self.template.state_dict()
        meta = {**state["meta"], "init": {**state["meta"]["init"], "seed": int(self.seeds[d])},
                "step": int(self.steps[d]), "counters": {}}
        arrays: dict[str, np.ndarray] = {}
        for l, group in enumerate(self._names):
            pos = 0
            for name, shape in zip(group, self.shapes[l]):
                n = int(np.prod(shape))
                arrays[f"mu_{name}"] = self.mu[l][d, pos:pos + n].reshape(shape).copy()
                arrays[f"code_{name}"] = self.code[l][d, pos:pos + n].reshape(shape).copy()
                pos += n
        return {"kind": state["kind"], "meta": meta, "arrays": arrays}

    def device_learner(self, d: int) -> FixedMESULearner:
        """Device ``d`` as a standalone FixedMESULearner."""
        return FixedMESULearner.from_state_dict(self.device_state(d))

    def set_all(self, mu: list[np.ndarray], code: list[np.ndarray]) -> None:
        """Give every device the same per-layer state (flat (P_l,) μ int16 and σ code uint8)."""
        for l in range(self.n_layers):
            self.mu[l][...] = np.asarray(mu[l], dtype=np.int16)[None, :]
            self.code[l][...] = np.asarray(code[l], dtype=np.uint8)[None, :]


def solo_learner(template: FixedMESULearner, seed: int) -> FixedMESULearner:
    """A standalone learner with ``template``'s state and plan but PRNG seed ``seed`` (the fleet's device)."""
    state = template.state_dict()
    state = {**state, "meta": {**state["meta"], "init": {**state["meta"]["init"], "seed": int(seed)}}}
    return FixedMESULearner.from_state_dict(state)
