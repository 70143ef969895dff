"""A fleet of fixed-point MESU learners stepped together: one vectorised update over a device axis.

Every device runs the same architecture and plan (formats, tables) as one :class:`FixedMESULearner`; only
its PRNG seed, its state (μ, σ code) and its step counter differ. The state is one
:class:`~edge_mesu.fixed.step.FixedState` with a leading device axis (μ and codes ``(D, P)``), stepped by the
learner's own :func:`edge_mesu.fixed.step.learn`: each device's update is bit-identical to
``FixedMESULearner.learn_one`` on that device alone. Saturation counters are summed over the fleet.

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

from .._validation import check_X_q
from ..fixed import FixedMESULearner
from ..fixed import step as fixed_step
from ..fixed.plan import P_FRAC
from ..fixed.qformat import SaturationCounter
from ..fixed.step import PREDICT_STREAM, FixedState
from ..uncertainty import decompose

__all__ = ["Fleet", "PREDICT_STREAM", "solo_learner"]


class Fleet:
    """D fixed-point MESU learners sharing one plan, stepped as one vectorised update.

    Parameters
    ----------
    template : the learner every device starts from (architecture, plan, hyper-parameters, state).
    seeds : one PRNG seed per device (the device's ``FixedMESULearner.seed``).
    """

    def __init__(self, template: FixedMESULearner, seeds: Sequence[int]) -> None:
        self.template = template
        self.plan = template.plan
        self._spec = template.step_spec()
        self.layout = self._spec.layout
        mu, code = template.flat_state()
        # no per-parameter code-table cache over D devices: the tables are gathered in each step
        self.state = FixedState.replicate(mu, code, seeds, template.step)
        self.counters = SaturationCounter()

    @classmethod
    def from_template(cls, template: FixedMESULearner, seeds: Sequence[int]) -> Fleet:
        return cls(template, seeds)

    # -- shapes --------------------------------------------------------------------------------------------
    @property
    def n_devices(self) -> int:
        return self.state.n_devices

    @property
    def seeds(self) -> np.ndarray:
        return self.state.seed

    @property
    def steps(self) -> np.ndarray:
        return self.state.step

    @property
    def layers(self) -> tuple[int, ...]:
        return self.template.layers

    def _devices(self, idx: Any) -> np.ndarray:
        return np.arange(self.n_devices) if idx is None else np.asarray(idx, dtype=np.int64)

    def quantize(self, X: np.ndarray) -> np.ndarray:
        """Float rows ``(..., n_in)`` as integers of the input format (validated: shape, finite)."""
        return self.quantize_counted(X)[0]

    def quantize_counted(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(:meth:`quantize` of ``X``, the number of saturated inputs of each row ``X[d, ...]``): quantise a
        window once and pass both to :meth:`learn_q`, which counts the saturations of the rows it learns."""
        Xa = np.asarray(X, dtype=np.float64)
        if Xa.ndim < 2 or Xa.shape[-1] != self.layers[0]:
            raise ValueError(f"X must have shape (devices, ..., {self.layers[0]}), got {Xa.shape}")
        if not np.all(np.isfinite(Xa)):
            raise ValueError("X contains non-finite values")
        fmt = self.plan.input_fmt
        scaled = np.clip(np.rint(Xa * 2.0**fmt.frac), -(2.0**62), 2.0**62)
        saturated = ((scaled < fmt.min_int) | (scaled > fmt.max_int)).reshape(Xa.shape[0], -1).sum(axis=1)
        return fmt.quantize(Xa).astype(np.int64), saturated

    def _check_q(self, X_q: np.ndarray) -> np.ndarray:
        fmt = self.plan.input_fmt
        arr = np.asarray(X_q)
        flat = check_X_q(
            arr.reshape(-1, arr.shape[-1]) if arr.ndim >= 2 else arr, self.layers[0], fmt.min_int, fmt.max_int, "X_q"
        )
        return flat.reshape(arr.shape)

    # -- public verbs -------------------------------------------------------------------------------------
    def learn(self, X: np.ndarray, y: np.ndarray, active: np.ndarray | None = None) -> None:
        """One learn step of the devices ``active`` (all when None) on one sample each.

        ``X`` (D, n_in) and ``y`` (D,) hold one row per device of the fleet; rows of inactive devices are
        ignored. Equivalent to ``learner_d.learn_one(X[d], y[d])`` for every active device d.
        """
        idx = np.arange(self.n_devices) if active is None else np.flatnonzero(active)
        if idx.size == 0:
            return
        self._labels(y, idx)
        counter = self.counters.copy()
        Xa = np.asarray(X, dtype=np.float64)
        if Xa.ndim != 2 or Xa.shape[1] != self.layers[0]:
            raise ValueError(f"X must have shape (devices, {self.layers[0]}), got {Xa.shape}")
        if not np.all(np.isfinite(Xa[idx])):
            raise ValueError("X contains non-finite values")
        x_q = self.plan.input_fmt.quantize(Xa[idx], counter, "input").astype(np.int64)
        self._learn(idx, x_q, np.asarray(y, dtype=np.int64)[idx], counter)

    def learn_q(
        self, X_q: np.ndarray, y: np.ndarray, active: np.ndarray | None = None, saturated: np.ndarray | None = None
    ) -> None:
        """:meth:`learn` on already-quantised rows ``X_q`` (D, n_in) of the input format; ``saturated`` (D,)
        the inputs each row lost to saturation when it was quantised (:meth:`quantize_counted`), counted for
        the rows learned as :meth:`learn` counts them."""
        idx = np.arange(self.n_devices) if active is None else np.flatnonzero(active)
        if idx.size == 0:
            return
        self._labels(y, idx)
        x_q = self._check_q(np.asarray(X_q)[idx])
        counter = self.counters.copy()
        if saturated is not None:
            counter.add("input", int(np.asarray(saturated)[idx].sum()))
        self._learn(idx, x_q, np.asarray(y, dtype=np.int64)[idx], counter)

    def _labels(self, y: np.ndarray, idx: np.ndarray) -> None:
        ya = np.asarray(y, dtype=np.int64)[idx]
        if ya.min() < 0 or ya.max() >= self.layers[-1]:
            raise ValueError(f"labels must be in [0, {self.layers[-1]})")

    def _learn(self, idx: np.ndarray, x_q: np.ndarray, y: np.ndarray, counter: SaturationCounter) -> None:
        every = idx.size == self.n_devices
        new_mu, new_code = fixed_step.learn(
            self._spec, self.state, x_q[:, None, :], y[:, None], counter, None if every else idx
        )
        if every:  # all devices stepped: plain replacement, no fancy indexing
            self.state.mu, self.state.code = new_mu, new_code
        else:
            self.state.mu[idx], self.state.code[idx] = new_mu, new_code
        self.state.step[idx] += 1
        self.counters = counter

    def predict_q15(self, X: np.ndarray, idx: np.ndarray | None = None) -> np.ndarray:
        """Q15 probabilities (D', n, C) of each device's mean network on its rows ``X`` (D', n, n_in)."""
        return self.predict_q15_q(self.quantize(X), idx)

    def predict_q15_q(self, X_q: np.ndarray, idx: np.ndarray | None = None) -> np.ndarray:
        """:meth:`predict_q15` of already-quantised rows."""
        devices = self._devices(idx)
        return fixed_step.proba_q15(
            self._spec, self.state.mu[devices], np.asarray(X_q, dtype=np.int64), SaturationCounter()
        )

    def predict(self, X: np.ndarray, idx: np.ndarray | None = None) -> np.ndarray:
        """Mean-network class of one sample per device: X (D', n_in) → (D',), as ``predict_one``."""
        return self.predict_q(self.quantize(X), idx)

    def predict_q(self, X_q: np.ndarray, idx: np.ndarray | None = None) -> np.ndarray:
        """:meth:`predict` of already-quantised rows (D', n_in)."""
        return self.predict_q15_q(np.asarray(X_q)[:, None, :], idx)[:, 0, :].argmax(axis=-1)

    def mutual_info(self, X: np.ndarray, idx: np.ndarray, samples: int = 8) -> np.ndarray:
        """Epistemic uncertainty (bits) of one sample per device ``idx``, as ``learner.uncertainty``."""
        return self.mutual_info_q(self.quantize(np.asarray(X)), idx, samples)

    def mutual_info_q(self, X_q: np.ndarray, idx: np.ndarray, samples: int = 8) -> np.ndarray:
        """:meth:`mutual_info` of already-quantised rows (D', n_in)."""
        x_q = np.asarray(X_q, dtype=np.int64)[:, None, :]
        p_q15 = fixed_step.sampled_proba_q15(
            self._spec, self.state, x_q, samples, SaturationCounter(), np.asarray(idx)
        )[:, :, 0, :]
        p = p_q15.astype(np.float64) / float(1 << P_FRAC)
        return decompose(p / p.sum(axis=-1, keepdims=True)).epistemic

    # -- devices as learners --------------------------------------------------------------------------------
    def device_state(self, d: int) -> dict[str, Any]:
        """The state dict of device ``d`` as a FixedMESULearner (saturation counters are fleet-wide: empty)."""
        state = self.template.state_dict()
        meta = {
            **state["meta"],
            "init": {**state["meta"]["init"], "seed": int(self.seeds[d])},
            "step": int(self.steps[d]),
            "counters": {},
        }
        arrays: dict[str, np.ndarray] = {}
        for name, mu, code in zip(
            self.template.param_names, self.layout.views(self.state.mu[d]), self.layout.views(self.state.code[d])
        ):
            arrays[f"mu_{name}"] = mu.copy()
            arrays[f"code_{name}"] = code.copy()
        return {"kind": state["kind"], "meta": meta, "arrays": arrays}

    def device_learner(self, d: int) -> FixedMESULearner:
        """Device ``d`` as a standalone FixedMESULearner."""
        return FixedMESULearner.from_state_dict(self.device_state(d))

    def set_all(self, mu: np.ndarray, code: np.ndarray) -> None:
        """Give every device the same flat state (``(P,)`` μ int16 and σ code uint8)."""
        self.state.mu[...] = np.asarray(mu, dtype=np.int16)[None, :]
        self.state.code[...] = np.asarray(code, dtype=np.uint8)[None, :]


def solo_learner(template: FixedMESULearner, seed: int) -> FixedMESULearner:
    """A standalone learner with ``template``'s state and plan but PRNG seed ``seed`` (the fleet's device)."""
    state = template.state_dict()
    state = {**state, "meta": {**state["meta"], "init": {**state["meta"]["init"], "seed": int(seed)}}}
    return FixedMESULearner.from_state_dict(state)
