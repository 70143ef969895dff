"""Shared test helpers (pytest fixtures)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

Params = list[np.ndarray]


def _check_gradients(
    g_mu: Params, g_sigma: Params, mu: Params, sigma: Params, loss: Callable[[Params, Params], float]
) -> None:
    """``g_mu`` / ``g_sigma`` equal central finite differences (step 1e-6) of ``loss(mu, sigma)`` in every
    entry of every parameter."""
    h = 1e-6
    for which, grads in (("mu", g_mu), ("sigma", g_sigma)):
        for i, p in enumerate(mu):
            fd = np.zeros(p.shape)
            for idx in np.ndindex(p.shape):
                vals = []
                for sign in (1.0, -1.0):
                    mu_p = [q.copy() for q in mu]
                    sig_p = [q.copy() for q in sigma]
                    (mu_p if which == "mu" else sig_p)[i][idx] += sign * h
                    vals.append(loss(mu_p, sig_p))
                fd[idx] = (vals[0] - vals[1]) / (2 * h)
            np.testing.assert_allclose(grads[i], fd, rtol=1e-5, atol=1e-8, err_msg=f"∂C/∂{which} of param {i}")


@pytest.fixture
def check_gradients() -> Callable[..., None]:
    """The finite-difference gradient check of the float rule's tests (per-weight and LRT)."""
    return _check_gradients
