"""The integer mutual information (edge_mesu/fixed/entropy.py): accuracy against the float decomposition,
edge cases, bad input, and the generated C bit for bit (host gcc; emulated Cortex-M4 when available)."""

from __future__ import annotations

import ctypes
import subprocess

import numpy as np
import pytest

from edge_mesu.fixed import FixedMESULearner
from edge_mesu.fixed.cbackend import STRICT_FLAGS, CState, find_compiler
from edge_mesu.fixed.cgen import generate_c
from edge_mesu.fixed.entropy import (
    ENTROPY_FRAC,
    MAX_UNCERTAINTY_SAMPLES,
    decompose_q,
    entropy_q,
    log2_q,
    to_bits,
)
from edge_mesu.uncertainty import decompose

CC = find_compiler()
needs_cc = pytest.mark.skipif(CC is None, reason="no C compiler found (cc, gcc or clang): cannot build the C")
ONE = 1 << ENTROPY_FRAC


def _float(p_q15: np.ndarray):
    p = p_q15.astype(np.float64)
    return decompose(p / p.sum(axis=-1, keepdims=True))


def test_log2_is_within_6e5_bit_over_its_range() -> None:
    x = np.unique(np.concatenate([np.arange(1, 5000), np.geomspace(1, 2**31 - 1, 20000).astype(np.int64)]))
    assert np.abs(log2_q(x) / ONE - np.log2(x)).max() < 6e-5
    assert log2_q(np.array([1, 2, 1 << 15, 1 << 20])).tolist() == [0, ONE, 15 * ONE, 20 * ONE]  # powers: exact


@pytest.mark.parametrize("peaked", [False, True])
def test_error_against_the_float_decomposition_is_below_1e4_bit(peaked: bool) -> None:
    rng = np.random.default_rng(7 + peaked)
    worst = 0.0
    for _ in range(60):
        C, k = int(rng.integers(2, 11)), int(rng.choice([2, 3, 4, 8, 16, MAX_UNCERTAINTY_SAMPLES]))
        conc = 0.05 if peaked else float(rng.choice([0.3, 1.0, 10.0]))
        base = rng.dirichlet(np.full(C, conc), size=40)
        spread = float(rng.choice([5.0, 50.0, 500.0]))
        p = np.stack([np.array([rng.dirichlet(b * spread + 1e-3) for b in base]) for _ in range(k)])
        q = np.round(p * 32768).astype(np.int64)
        u, ref = decompose_q(q), _float(q)
        for got, want in ((u.mi, ref.epistemic), (u.predictive, ref.predictive), (u.aleatoric, ref.aleatoric)):
            worst = max(worst, float(np.abs(to_bits(got) - want).max()))
        assert np.array_equal(u.mi, np.maximum(u.predictive - u.aleatoric, 0))
    assert worst < 1e-4


def test_edge_cases() -> None:
    one_hot = np.zeros((4, 1, 5), dtype=np.int64)
    one_hot[:, 0, 2] = 32768
    u = decompose_q(one_hot)
    assert (u.mi[0], u.predictive[0], u.aleatoric[0]) == (0, 0, 0) and u.mean_q15[0].tolist() == [0, 0, 32768, 0, 0]
    uniform = np.full((3, 1, 4), 8192)
    u = decompose_q(uniform)  # all samples agree: MI exactly 0, predictive = aleatoric = 2 bits exactly
    assert (u.mi[0], u.predictive[0], u.aleatoric[0]) == (0, 2 * ONE, 2 * ONE)
    zeros = np.zeros((2, 1, 3), dtype=np.int64)
    assert decompose_q(zeros).mi[0] == 0 and entropy_q(zeros[0])[0] == 0
    agree = np.tile(np.array([[[20000, 9000, 3768]]]), (5, 1, 1))  # exact copies: 0, not a rounding residue
    u = decompose_q(agree)
    assert u.mi[0] == 0 and u.predictive[0] == u.aleatoric[0] > 0
    disagree = np.array([[[32768, 0]], [[0, 32768]]])
    assert decompose_q(disagree).mi[0] == ONE


def test_bad_input_names_the_value() -> None:
    with pytest.raises(ValueError, match="got 33"):
        decompose_q(np.zeros((33, 1, 2), dtype=np.int64))
    with pytest.raises(ValueError, match="shape"):
        decompose_q(np.zeros((2, 3), dtype=np.int64))
    with pytest.raises(ValueError, match=r"\[0, 32768\]"):
        decompose_q(np.full((2, 1, 2), 40000))
    m = FixedMESULearner((4, 3, 2), seed=0)
    x = np.zeros((1, 4), dtype=np.int8)
    for bad in (0, 1, 33):
        with pytest.raises(ValueError, match=f"got {bad}"):
            m.uncertainty_int_q(x, bad)
    with pytest.raises(ValueError, match="integer"):
        m.uncertainty_int_q(x, 2.5)


def test_learner_integer_uncertainty_tracks_the_float_one_and_changes_nothing() -> None:
    rng = np.random.default_rng(0)
    m = FixedMESULearner((8, 10, 3), N=500, seed=3)
    X = rng.normal(size=(300, 8))
    m.learn_many(X, (X[:, 0] > 0).astype(int))
    before = m.to_bytes()
    Xq = m.quantize(X[:50])
    u, f = m.uncertainty_int_q(Xq, 8), m.uncertainty_q(Xq, 8)
    assert m.to_bytes() == before
    assert np.abs(to_bits(u.mi) - f.epistemic).max() < 1e-3 and u.mi.dtype == np.int64
    assert np.array_equal(u.mean_q15, (m.proba_q15(Xq, 8).sum(axis=0) + 4) // 8)


# ---- the generated C, bit for bit ------------------------------------------------------------------------------
_State = CState  # the generated NAME_state_t (edge_mesu.fixed.cbackend)


class _Lib:
    def __init__(self, learner: FixedMESULearner, tmp_path) -> None:
        src = generate_c(learner, name="unc", with_state=False)
        for n, t in src.files.items():
            (tmp_path / n).write_text(t)
        so = tmp_path / "libunc.so"
        cmd = [CC, *STRICT_FLAGS, "-pedantic", "-Wconversion", "-fPIC", "-shared", "-o", str(so), "unc.c"]
        subprocess.run(cmd, cwd=tmp_path, check=True, capture_output=True)
        self.lib = ctypes.CDLL(str(so))
        self.fn = self.lib.unc_uncertainty
        self.fn.restype = ctypes.c_int
        self.fn.argtypes = [ctypes.c_void_p] * 3 + [ctypes.c_uint32, ctypes.c_void_p, ctypes.c_void_p]
        self.arena = ctypes.create_string_buffer(src.macros["UNC_ARENA_BYTES"])
        self.n_out = learner.layers[-1]

    def run(self, learner: FixedMESULearner, x: np.ndarray, k: int) -> tuple[int, np.ndarray, tuple, list]:
        mu, code = learner.flat_state()
        st = _State()
        st.mu = mu.ctypes.data_as(ctypes.POINTER(ctypes.c_int16))
        st.code = code.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8))
        st.seed, st.step = learner.seed, learner.step
        p = np.full(self.n_out, -7, dtype=np.int32)
        out = (ctypes.c_int32 * 3)(-7, -7, -7)
        xb = np.ascontiguousarray(x, dtype=np.int8)
        best = self.fn(ctypes.addressof(st), ctypes.addressof(self.arena), xb.ctypes.data, k, p.ctypes.data, out)
        return best, p, tuple(out), list(st.counters)


@needs_cc
@pytest.mark.parametrize("layers,bias", [((16, 12, 4), True), ((10, 8, 6, 3), False)])
def test_c_uncertainty_is_bit_exact(tmp_path, layers, bias) -> None:
    """Many inputs, states after 0, 150 and 600 updates, k in {2, 4, 8}: the C's mean probabilities, best
    class, predictive, aleatoric and MI equal Python's; the C leaves the state's counters alone."""
    rng = np.random.default_rng(5)
    m = FixedMESULearner(layers, N=800, bias=bias, seed=4)
    lib = _Lib(m, tmp_path)
    X = np.clip(rng.normal(size=(600, layers[0])) * 1.3, -3.9, 3.9)
    y = (np.argmax(X[:, : layers[-1]], axis=1) + (rng.random(600) < 0.1)) % layers[-1]
    probe = m.quantize(np.clip(rng.normal(size=(60, layers[0])) * 2.0, -3.9, 3.9))
    probe[:3] = 0  # all-zero input: every weight sample gives the bias path only
    done = 0
    for upto in (0, 150, 600):
        if upto > done:
            m.learn_many(X[done:upto], y[done:upto])
        done = upto
        for k in (2, 4, 8):
            u = m.uncertainty_int_q(probe, k)
            for i in range(probe.shape[0]):
                best, p, (pred, ale, mi), counters = lib.run(m, probe[i], k)
                assert np.array_equal(p, u.mean_q15[i]) and best == int(np.argmax(u.mean_q15[i]))
                assert (pred, ale, mi) == (u.predictive[i], u.aleatoric[i], u.mi[i]), (upto, k, i)
                assert counters == [0] * 10
        assert (u.mi > 0).any()
    for bad in (0, 1, MAX_UNCERTAINTY_SAMPLES + 1):
        best, p, out, _ = lib.run(m, probe[0], bad)
        assert best == -1 and (p == -7).all() and out == (-7, -7, -7)  # nothing written


def _emulator_reason() -> str | None:
    from firmware_sim.emulate import emulator_available

    return emulator_available()


@pytest.mark.skipif(_emulator_reason() is not None, reason=f"Cortex-M emulation: {_emulator_reason()}")
@pytest.mark.parametrize("cpu", ["cortex-m4", "cortex-m0plus"])
def test_emulated_uncertainty_is_bit_exact(cpu: str) -> None:
    from firmware_sim.emulate import emulate

    m = FixedMESULearner((12, 8, 5), seed=2)
    rng = np.random.default_rng(1)
    m.learn_many(rng.normal(size=(100, 12)), rng.integers(0, 5, 100))
    res = emulate(m, steps=4, cpu=cpu, uncertainty_samples=8)
    assert res.bit_exact and len(res.uncertainty_instructions) == 4 and res.uncertainty_mean > 4 * res.predict_mean
