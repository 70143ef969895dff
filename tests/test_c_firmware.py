"""The generated C library against the Python fixed-point learner: bit for bit, after every update.

The C is compiled with the system compiler (``-std=c99 -Wall -Wextra -Werror -O2``) and called through
ctypes; the tests skip, naming the missing tool, only when no C compiler exists. The learning tests pin
``sampling="weights"`` (the sensor preset's learn path, no longer the learners' default); local
reparameterisation's twins, the default's, are in tests/test_c_lrt.py.
"""

from __future__ import annotations

import ctypes
import logging
import os
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

from edge_mesu import MESULearner
from edge_mesu.errors import StateFileError
from edge_mesu.fixed import FixedMESULearner, cbackend
from edge_mesu.fixed.cbackend import HOST_FLAGS, NATIVE_FLAGS, STRICT_FLAGS, CState, find_compiler
from edge_mesu.fixed.cblob import learner_from_blob, state_blob
from edge_mesu.fixed.cgen import generate_c, sanitize_name
from edge_mesu.fixed.qformat import SaturationCounter
from edge_mesu.statefile import StateFormatWarning
from export import to_c

CC = find_compiler()
needs_cc = pytest.mark.skipif(CC is None, reason="no C compiler found (cc, gcc or clang): cannot build the C")
UPDATES = 2000
LAYERS = (16, 12, 4)


_State = CState  # the generated NAME_state_t (edge_mesu.fixed.cbackend)


class Firmware:
    """The exported library (its own state arrays) behind ctypes; ``edit(file name, text) -> text`` rewrites the
    generated files before they are compiled (tests that break the C on purpose)."""

    def __init__(self, learner: FixedMESULearner, tmp_path, name: str = "fw", defines: tuple = (), edit=None) -> None:
        report = to_c(learner, tmp_path / name, name=name)
        if edit is not None:
            for path in (tmp_path / name).iterdir():
                path.write_text(edit(path.name, path.read_text()))
        lib = tmp_path / name / f"lib{name}.so"
        subprocess.run(
            [CC, *STRICT_FLAGS, *defines, "-fPIC", "-shared", "-o", str(lib), str(tmp_path / name / f"{name}.c")],
            check=True,
            capture_output=True,
        )
        self.lib, self.name, self.report = ctypes.CDLL(str(lib)), name, report
        self.state = _State()
        self.arena = ctypes.create_string_buffer(report.details["arena_bytes"])
        self.n_out = learner.layers[-1]
        if hasattr(self.lib, f"{name}_state_init"):
            self.fn("state_init")(ctypes.byref(self.state))

    def fn(self, short: str):
        return getattr(self.lib, f"{self.name}_{short}")

    def learn(self, x_q: np.ndarray, y: int) -> int:
        x = np.ascontiguousarray(x_q, dtype=np.int8)
        return self.fn("learn_one")(
            ctypes.byref(self.state), self.arena, x.ctypes.data_as(ctypes.c_void_p), ctypes.c_int32(y)
        )

    def blob(self) -> bytes:
        size = self.report.details["state_blob_bytes"]
        buf = ctypes.create_string_buffer(size)
        assert self.fn("state_save")(ctypes.byref(self.state), buf, ctypes.c_size_t(size)) == size
        return buf.raw

    def load(self, blob: bytes) -> int:
        return self.fn("state_load")(ctypes.byref(self.state), blob, ctypes.c_size_t(len(blob)))

    def predict(self, x_q: np.ndarray, mu_ptr=None) -> tuple[int, np.ndarray]:
        p = np.zeros(self.n_out, dtype=np.int32)
        x = np.ascontiguousarray(x_q, dtype=np.int8)
        mu = mu_ptr if mu_ptr is not None else self.state.mu
        best = self.fn("predict")(mu, self.arena, x.ctypes.data_as(ctypes.c_void_p), p.ctypes.data_as(ctypes.c_void_p))
        return best, p


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    """Host-backend builds go to a per-session cache, not the user's."""
    monkeypatch.setenv("EDGE_MESU_CACHE", str(tmp_path_factory.getbasetemp() / "edge-mesu-cache"))


def _stream(n: int, n_in: int, n_out: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Inputs inside the int8 Q2.5 range (no input saturation: the C core takes int8), labels learnable."""
    rng = np.random.default_rng(seed)
    X = np.clip(rng.normal(size=(n, n_in)) * 1.3, -3.9, 3.9)
    y = (np.argmax(X[:, :n_out], axis=1) + (rng.random(n) < 0.1)) % n_out
    return X, y


@needs_cc
@pytest.mark.parametrize("bias", [True, False])
def test_learn_bit_exact_every_update(tmp_path, bias):
    learner = FixedMESULearner(LAYERS, N=2000, bias=bias, seed=11, sampling="weights")
    fw = Firmware(learner, tmp_path)
    X, y = _stream(UPDATES, LAYERS[0], LAYERS[-1])
    Xq = learner.plan.input_fmt.quantize(X)
    assert fw.blob() == state_blob(learner)
    for i in range(UPDATES):
        learner.learn_one(X[i], y[i])
        assert fw.learn(Xq[i], int(y[i])) == 0
        assert fw.blob() == state_blob(learner), f"C and Python states differ after update {i + 1}"
    assert learner.counters["input"] == 0 and learner.counters.total() > 0  # clips happened and agree
    for i in range(1000):  # predictions of the trained mean network
        best, p = fw.predict(Xq[i])
        ref = learner.predict_q15(X[i : i + 1])[0]
        assert np.array_equal(p, ref) and best == int(np.argmax(ref))


@needs_cc
def test_nearest_rounding_and_deep_net_bit_exact(tmp_path):
    learner = FixedMESULearner((10, 8, 6, 3), N=500, rounding="nearest", seed=4, ratio_max=None, sampling="weights")
    fw = Firmware(learner, tmp_path)
    X, y = _stream(400, 10, 3, seed=1)
    Xq = learner.plan.input_fmt.quantize(X)
    for i in range(400):
        learner.learn_one(X[i], y[i])
        fw.learn(Xq[i], int(y[i]))
    assert fw.blob() == state_blob(learner)


@needs_cc
def test_inference_only_build_predicts_the_same(tmp_path):
    learner = FixedMESULearner(LAYERS, seed=3)
    X, y = _stream(300, LAYERS[0], LAYERS[-1], seed=2)
    learner.learn_many(X, y)
    fw = Firmware(learner, tmp_path, name="inf", defines=("-DINF_INFERENCE_ONLY",))
    assert not hasattr(fw.lib, "inf_learn_one")
    mu = ctypes.cast(ctypes.addressof(ctypes.c_int16.in_dll(fw.lib, "inf_mu")), ctypes.POINTER(ctypes.c_int16))
    Xq = learner.plan.input_fmt.quantize(X)
    ref = learner.predict_q15(X)
    for i in range(100):
        assert np.array_equal(fw.predict(Xq[i], mu)[1], ref[i])


@needs_cc
@pytest.mark.parametrize("layers", [(13, 7, 6, 3), (12, 10, 3), (10, 9, 5, 4)])
def test_mean_forward_row_groups_and_flushes_are_exact(tmp_path, layers):
    """dense_mean takes four rows at once, a pair when a pair is all zero or four rows' sum of |a| exceeds one
    int32 accumulation (large hidden activations), then the 1-row tail; every fan_in remainder (mod 4), zero
    rows inside a group and the accumulator flush: each layer's pre-activations equal numpy's exact sums."""
    from edge_mesu.fixed.step import _logits

    learner = FixedMESULearner(layers, bias=True, seed=5)
    fw = Firmware(learner, tmp_path, name="grp")
    header = (tmp_path / "grp" / "grp.h").read_text()
    off_z = int(header.split("#define GRP_OFF_Z ")[1].split()[0])
    z_at = np.cumsum((0,) + layers[1:])
    rng = np.random.default_rng(7)
    big = 0
    for trial in range(60):
        scale = (64, 2048, 32767)[trial % 3]
        mu = rng.integers(-scale, scale + 1, size=learner._state.mu.size).astype(np.int16)
        x = rng.integers(-128, 128, size=layers[0]).astype(np.int8)
        x[rng.random(layers[0]) < (0.2, 0.5, 0.8)[trial // 3 % 3]] = 0  # zero rows, zero pairs
        _, acts, zs = _logits(learner._spec, x.astype(np.int64)[None], mu.astype(np.int64), SaturationCounter())
        fw.predict(x, mu.ctypes.data_as(ctypes.POINTER(ctypes.c_int16)))
        z_c = np.frombuffer(fw.arena.raw, dtype=np.int32, offset=off_z, count=int(z_at[-1]))
        for l, z in enumerate(zs):
            assert np.array_equal(z_c[z_at[l] : z_at[l + 1]], z[0]), f"trial {trial}: layer {l} differs"
        big += int(any(np.abs(a).max() > 2**14 for a in acts[1:]))  # four such rows overflow one int32 group
    assert big >= 10  # the large-activation cases happened


@needs_cc
def test_state_blob_round_trips_and_refuses_bad_blobs(tmp_path):
    learner = FixedMESULearner(LAYERS, seed=8)
    X, y = _stream(50, LAYERS[0], LAYERS[-1])
    learner.learn_many(X, y)
    fw = Firmware(learner, tmp_path)  # exported mid-stream: step and counters travel with the state
    assert fw.state.step == learner.step == 50
    blob = fw.blob()
    assert learner_from_blob(learner, blob).to_bytes() == learner.to_bytes()
    other = FixedMESULearner(LAYERS, seed=9)
    assert fw.load(state_blob(other)) == 0 and fw.blob() == state_blob(other)
    corrupt = bytearray(blob)
    corrupt[100] ^= 1
    assert fw.load(bytes(corrupt)) == -4 and fw.blob() == state_blob(other)  # nothing changed
    assert fw.load(blob[:-1]) == -1
    assert fw.load(state_blob(FixedMESULearner(LAYERS, seed=8, N=10.0))) == -3  # other configuration
    with pytest.raises(StateFileError, match="CRC32"):
        learner_from_blob(learner, bytes(corrupt))
    # a version-1 blob (64-bit arithmetic): the C refuses it, Python converts it and says so
    v1 = bytearray(blob[:-4])
    v1[4:6] = (1).to_bytes(2, "little")
    v1 = bytes(v1) + zlib.crc32(bytes(v1)).to_bytes(4, "little")
    assert fw.load(v1) == -2 and fw.blob() == state_blob(other)
    with pytest.warns(StateFormatWarning, match="version 1"):
        assert learner_from_blob(learner, v1).to_bytes() == learner.to_bytes()
    assert fw.learn(np.zeros(LAYERS[0]), LAYERS[-1]) == -1 and fw.blob() == state_blob(other)
    # a save buffer smaller than NAME_STATE_BYTES: 0 bytes written, the buffer untouched
    size = fw.report.details["state_blob_bytes"]
    short = ctypes.create_string_buffer(b"\xaa" * (size - 1), size - 1)
    assert fw.fn("state_save")(ctypes.byref(fw.state), short, ctypes.c_size_t(size - 1)) == 0
    assert short.raw == b"\xaa" * (size - 1)


@needs_cc
@pytest.mark.parametrize("kw", [{"bias": True}, {"bias": False, "rounding": "nearest"}])
def test_c_backend_gives_identical_state_bytes(kw):
    X, y = _stream(600, LAYERS[0], LAYERS[-1], seed=5)
    X[::7] *= 3.0  # some inputs saturate the int8 input: counted on the Python side, as in numpy
    a = FixedMESULearner(LAYERS, seed=21, sampling="weights", **kw)
    b = FixedMESULearner(LAYERS, seed=21, sampling="weights", backend="c", **kw)
    assert b._c is not None
    if _has_avx2(HOST_FLAGS + NATIVE_FLAGS):  # then these updates run the host vector loops
        assert b._c.flags == HOST_FLAGS + NATIVE_FLAGS
    for i in range(300):
        a.learn_one(X[i], y[i])
        b.learn_one(X[i], y[i])
    a.learn_many(X[300:], y[300:])
    b.learn_many(X[300:], y[300:])
    b.learn_many(X[:20], y[:20], batch_size=4)  # mini-batches run in numpy; C resumes on their state
    a.learn_many(X[:20], y[:20], batch_size=4)
    b.learn_one(X[0], y[0])
    a.learn_one(X[0], y[0])
    assert a.counters["input"] > 0
    assert a.to_bytes() == b.to_bytes()
    assert b.clone().backend == "c" and "backend='c'" in repr(b)
    # the mean network's predictions go through the C predict: the same integers as numpy's
    assert np.array_equal(a.predict_proba(X), b.predict_proba(X)) and np.array_equal(a.predict(X), b.predict(X))
    assert all(a.predict_one(X[i]) == b.predict_one(X[i]) for i in range(50))
    # the integer uncertainty goes through the C's NAME_uncertainty: the same integers as numpy's
    Xq = a.plan.input_fmt.quantize(X[:60])
    for k in (2, 8):
        ua, ub = a.uncertainty_int_q(Xq, k), b.uncertainty_int_q(Xq, k)
        for f in ("mean_q15", "predictive", "aleatoric", "mi"):
            assert np.array_equal(getattr(ua, f), getattr(ub, f)), f
        assert ua.mi.max() > 0
    with pytest.raises(ValueError, match="33"):
        b.uncertainty_int_q(Xq, 33)
    # weight-sampled predictions and the float uncertainty: each sample drawn once in C (NAME_weight_sample),
    # run on every row; the integers of numpy's sampled_proba_q15, so the floats are equal too
    qa, qb = a.proba_q15(Xq, 5), b.proba_q15(Xq, 5)
    assert qb.shape == (5, 60, LAYERS[-1]) and np.array_equal(qa, qb)
    assert not np.array_equal(qb[0], qb[1])  # the samples differ: a wrong stream would show
    ua, ub = a.uncertainty(X[:60], samples=6), b.uncertainty(X[:60], samples=6)
    assert np.array_equal(ua.epistemic, ub.epistemic) and ua.epistemic.max() > 0
    assert np.array_equal(
        FixedMESULearner(LAYERS, seed=21, predict_samples=3, **kw).predict_proba(X[:40]),
        FixedMESULearner(LAYERS, seed=21, predict_samples=3, backend="c", **kw).predict_proba(X[:40]),
    )


def _has_avx2(flags: tuple[str, ...]) -> bool:
    """Whether CC with these flags targets AVX2 (the host vector loops' condition) and this CPU runs it."""
    out = subprocess.run([CC, *flags, "-dM", "-E", "-x", "c", os.devnull], capture_output=True, text=True)
    cpu = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    return out.returncode == 0 and "__AVX2__" in out.stdout and " avx2" in cpu


VFAST_COUNT = "-DEMSU_HOST_VFAST_COUNT"  # a host build that counts its rows by loop form (template_core.c)


def _host_vector_builds() -> list[tuple[str, ...]]:
    """The host builds the vector-loop tests compare: the portable one, then where AVX2 builds run here
    ``-mavx2``, native, native counting its rows by loop form and native with the general loops only (the test
    is skipped without an AVX2 build)."""
    from edge_mesu.fixed.cbackend import HOST_FLAGS, NATIVE_FLAGS

    builds = [HOST_FLAGS] + [HOST_FLAGS + f for f in (("-mavx2",), NATIVE_FLAGS) if _has_avx2(HOST_FLAGS + f)]
    if len(builds) == 1:
        pytest.skip("no AVX2 build possible here: only the portable loops exist")
    return builds + [builds[-1] + (VFAST_COUNT,), builds[-1] + ("-DEMSU_HOST_VFAST_OFF",)]


def _assert_both_loop_forms_ran(learners: list) -> None:
    """The counting build of ``learners`` ran rows in the general and in the one-case form."""
    (counting,) = [m for m in learners if VFAST_COUNT in m._c.flags]
    rows = (ctypes.c_uint32 * 2).in_dll(counting._c._lib, "emsu_host_vfast_rows")
    assert rows[0] > 0 and rows[1] > 0, list(rows)


@needs_cc
@pytest.mark.parametrize(
    "layers, kw",
    [((16, 12, 4), {"bias": False}), ((11, 13, 5, 3), {"bias": True}), ((9, 10, 3), {"rounding": "nearest"})],
)
def test_host_vector_loops_equal_the_portable_build(layers, kw):
    """The host library's vector loops (-march=native / -mavx2 builds, AVX2) and its portable build (the device
    loops) give the same state bytes after every kind of update: odd widths (a row's padded tail), biases,
    saturating inputs, both roundings."""
    from edge_mesu.fixed.cbackend import CKernels

    X, y = _stream(400, layers[0], layers[-1], seed=8)
    X[::5] *= 4.0  # saturating inputs
    builds = _host_vector_builds()
    ref = FixedMESULearner(layers, N=300, seed=5, sampling="weights", **kw)
    learners = [FixedMESULearner(layers, N=300, seed=5, sampling="weights", backend="c", **kw) for _ in builds]
    for m, flags in zip(learners, builds):
        m._c = CKernels(m, flags=flags)
    for start in range(0, 400, 100):
        ref.learn_many(X[start : start + 100], y[start : start + 100])
        for m in learners:
            m.learn_many(X[start : start + 100], y[start : start + 100])
            assert m.to_bytes() == ref.to_bytes(), (m._c.flags, start)
    assert ref.counters.total() > 0
    _assert_both_loop_forms_ran(learners)
    Xq = ref.plan.input_fmt.quantize(X[:20])
    u = [m.uncertainty_int_q(Xq, 4) for m in [ref, *learners]]
    assert all(np.array_equal(v.mi, u[0].mi) and np.array_equal(v.mean_q15, u[0].mean_q15) for v in u)


@needs_cc
def test_learn_one_fast_path_takes_only_what_the_checks_would_and_learns_the_same():
    """backend='c' learns a well-formed (float64 vector, integer label) sample in one call; every other form
    goes through the common checks: the same state as numpy for each accepted form, the same errors."""
    X, y = _stream(40, LAYERS[0], LAYERS[-1], seed=3)
    a = FixedMESULearner(LAYERS, seed=4)
    b = FixedMESULearner(LAYERS, seed=4, backend="c")
    F = np.asfortranarray(X)  # its rows are strided views: not the fast path's contiguous vector
    forms = [
        lambda i: (X[i], int(y[i])),
        lambda i: (X[i], np.int64(y[i])),
        lambda i: (F[i], y[i]),
        lambda i: (X[i].astype(np.float32), y[i]),
        lambda i: (list(X[i]), float(y[i])),
        lambda i: (X[i] * 40.0, np.uint8(y[i])),  # saturating inputs: counted
    ]
    for i in range(len(X)):
        xi, yi = forms[i % len(forms)](i)
        a.learn_one(xi, yi)
        b.learn_one(xi, yi)
        assert a.to_bytes() == b.to_bytes(), i
    assert b.counters["input"] > 0
    before = b.to_bytes()
    bad_x = X[0].copy()
    bad_x[3] = np.nan
    for xi, yi, match in [
        (bad_x, 0, "non-finite"),
        (X[0], LAYERS[-1], "out of range"),
        (X[0], -1, "out of range"),
        (X[0], True, "integer class labels"),
        (X[0], 1.5, "integer class labels"),
        (X[0][:-1], 0, "shape"),
    ]:
        with pytest.raises(ValueError, match=match):
            b.learn_one(xi, yi)
    assert b.to_bytes() == before  # refused before any state changed


@needs_cc
def test_c_input_quantisation_is_numpys_bit_for_bit():
    b = FixedMESULearner(LAYERS, seed=3, backend="c")
    assert b._c is not None
    frac = b.plan.input_fmt.frac
    lsb = 2.0**-frac
    edges = [
        0.0,
        -0.0,
        0.5 * lsb,
        -0.5 * lsb,
        1.5 * lsb,
        -1.5 * lsb,
        2.5 * lsb,
        -2.5 * lsb,
        127.5 * lsb,
        -128.5 * lsb,
        126.5 * lsb,
        -127.5 * lsb,
        1e300,
        -1e300,
        5e-324,
        -5e-324,
        127 * lsb,
        -128 * lsb,
    ]
    rng = np.random.default_rng(4)
    X = np.concatenate([edges, rng.normal(0, 3, 4000), rng.integers(-300, 300, 2000) * (0.5 * lsb)])
    X = X[: (len(X) // LAYERS[0]) * LAYERS[0]].reshape(-1, LAYERS[0])
    counter = SaturationCounter()
    want = b.plan.input_fmt.quantize(X, counter, "input")
    got, sat = b._c.quantize(X)
    assert np.array_equal(got, want) and sat == counter["input"] > 0
    assert b._c.quantize(np.array([0.5, 1.5, 2.5, -2.5]) * lsb)[0].tolist() == [0, 2, 2, -2]  # ties to even
    # predict_one of float input is one C call: the class numpy's mean network gives, bad input refused first
    a = FixedMESULearner(LAYERS, seed=3)
    a.learn_many(X, np.arange(len(X)) % LAYERS[-1])
    b.learn_many(X, np.arange(len(X)) % LAYERS[-1])
    assert a.to_bytes() == b.to_bytes()
    assert [b.predict_one(x) for x in X] == [a.predict_one(x) for x in X]
    with pytest.raises(ValueError, match="non-finite"):
        b.predict_one(np.full(LAYERS[0], np.nan))
    with pytest.raises(ValueError, match="shape"):
        b.predict_one(np.zeros(LAYERS[0] + 1))


def test_backend_falls_back_without_compiler(monkeypatch, caplog):
    monkeypatch.setattr(cbackend, "find_compiler", lambda: None)
    with caplog.at_level(logging.WARNING):
        m = FixedMESULearner((4, 3, 2), backend="c")
    assert m._c is None and "falls back to the numpy backend" in caplog.text
    m.learn_one(np.zeros(4), 1)
    with pytest.raises(ValueError, match="backend"):
        FixedMESULearner((4, 3, 2), backend="fortran")


def test_unsupported_configurations_raise_before_writing(tmp_path):
    with pytest.raises(ValueError, match="train_samples=1"):
        to_c(FixedMESULearner((4, 3, 2), train_samples=2), tmp_path / "out")
    with pytest.raises(ValueError, match="FixedMESULearner"):
        to_c(MESULearner((4, 3, 2)), tmp_path / "out")
    with pytest.raises(TypeError, match="edge-mesu learner"):
        to_c(object(), tmp_path / "out")
    with pytest.raises(ValueError, match="does not exist"):
        to_c(FixedMESULearner((4, 3, 2)), tmp_path / "missing" / "out")
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match="train_samples"):
        FixedMESULearner((4, 3, 2), train_samples=3, backend="c") if CC else generate_c(
            FixedMESULearner((4, 3, 2), train_samples=3)
        )


def test_names_are_sanitised_and_files_written(tmp_path):
    assert sanitize_name("9 lives!") == "n_9_lives_" and sanitize_name("int") == "int_net"
    rep = to_c(FixedMESULearner((4, 3, 2)), tmp_path / "c", name="My-Net")
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["my_net.c", "my_net.h", "my_net_model.h"]
    header = (tmp_path / "c" / "my_net.h").read_text()
    assert "#define MY_NET_ARENA_BYTES" in header and "my_net_learn_one" in header
    assert rep.details["arena_bytes"] > 0 and rep.format == "c"
    src = "".join(generate_c(FixedMESULearner((4, 3, 2))).files.values())
    assert "malloc" not in src and "float" not in src.replace("floor", "").replace("floating", "")


def _emulator_reason() -> str | None:
    from firmware_sim.emulate import emulator_available

    return emulator_available()


needs_emu = pytest.mark.skipif(_emulator_reason() is not None, reason=f"Cortex-M4 emulation: {_emulator_reason()}")


@needs_emu
def test_emulated_cortex_m4_is_bit_exact_and_counts_instructions():
    from firmware_sim.emulate import emulate

    learner = FixedMESULearner((8, 4, 2), seed=1, sampling="weights")
    fast = emulate(learner, steps=2)
    slow = emulate(learner, steps=2, counting="code")
    assert fast.bit_exact and slow.bit_exact and learner.step == 0  # the caller's learner is untouched
    assert fast.library_size["text"] > 0 and fast.library_size["data"] > 0
    for a, b in (
        (fast.predict_instructions, slow.predict_instructions),
        (fast.learn_instructions, slow.learn_instructions),
    ):
        # the code hook skips IT-block instructions whose condition fails; the block count includes them
        assert all(0 <= x - y <= 0.05 * x for x, y in zip(a, b))


@needs_emu
def test_acle_dual_mac_is_bit_identical_to_the_portable_path():
    """NET_USE_ACLE (the __smlad intrinsic on a DSP core) predicts and learns the same integers; odd fan_in
    exercises the unpaired last row."""
    from firmware_sim.emulate import emulate

    learner = FixedMESULearner((9, 6, 3), bias=True, seed=3, sampling="weights")
    acle = emulate(learner, steps=3, acle=True)
    plain = emulate(learner, steps=3)
    assert acle.bit_exact and plain.bit_exact and "-DNET_USE_ACLE" in acle.flags


@needs_emu
def test_emulated_row_groups_are_bit_exact_on_both_cores():
    """dense_mean's four-row groups (Cortex-M4, portable and ACLE) and pairs (M0+) on large weights and
    activations (the pair fallback and the accumulator flush) and zero input rows: the same integers."""
    from firmware_sim.emulate import emulate

    learner = FixedMESULearner((13, 7, 6, 3), bias=True, seed=5)
    rng = np.random.default_rng(3)
    lim = int(min(learner.plan.tables["mu_lim"]))  # the state format's bound (a load clamps beyond it)
    mu = rng.integers(-lim, lim + 1, size=learner._mu.size)  # layers: 13*7+7, 7*6+6, 6*3+3 parameters
    mu[:98] = rng.integers(-lim // 8, lim + 1, size=98)  # layers 0 and 1 mostly positive: hidden rows of
    mu[98:146] = rng.integers(lim // 2, lim + 1, size=48)  # large |a| whose sums would overflow an int32
    mu[-7 * 3 :] //= 512  # the last layer small: logits inside softmax's range, so a wrong z1 shows in p
    learner._mu = mu.astype(np.int16)
    X = np.abs(np.round(rng.normal(size=(3, 13)) * 2)) * (rng.random((3, 13)) < 0.6)  # zero input rows
    for kw in ({}, {"acle": True}, {"cpu": "cortex-m0plus"}):
        assert emulate(learner, steps=3, X=X, **kw).bit_exact, kw


@needs_emu
@pytest.mark.parametrize("bias", [False, True])
def test_emulated_cortex_m0plus_is_bit_exact(bias):
    """The M0+ build (ARMv6-M: no DSP, no divide, no 64-bit multiply instruction) runs the same integers."""
    from firmware_sim.emulate import emulate

    res = emulate(FixedMESULearner((12, 6, 3), bias=bias, seed=2, sampling="weights"), steps=3, cpu="cortex-m0plus")
    assert res.bit_exact and res.cpu == "cortex-m0plus" and "-mcpu=cortex-m0plus" in res.flags
    assert min(res.learn_instructions) > 0
    with pytest.raises(ValueError, match="cpu must be"):
        emulate(FixedMESULearner((4, 3, 2), seed=0), steps=1, cpu="cortex-m7x")


@needs_emu
@pytest.mark.parametrize("device", ["stm32l4", "rp2040"])  # Cortex-M4 and Cortex-M0+ builds
@pytest.mark.parametrize("sampling", ["weights", "lrt"])  # each learn path has its own op list
def test_latency_model_agrees_with_the_emulator_on_the_check_network(device, sampling):
    from firmware_sim.calibration import calibrate

    rows, results = calibrate([((96, 32, 5), True)], device=device, steps=1, sampling=sampling)
    assert results[0].bit_exact
    assert {r.mode for r in rows} == {"predict", "learn"} and {r.sampling for r in rows} == {sampling}
    assert all(r.within for r in rows), [r.ratio for r in rows]


@needs_emu
def test_m0plus_lrt_learn_model_agrees_on_the_calibration_network():
    """The M0+ LRT learn on 784-50-10, where the profile's ``alu_update_lrt`` was calibrated (~1 s): the model within
    5 % of the emulator (it read 1.30 before the key existed, when the weight-sampling loops still rebuilt the hash
    multipliers per parameter and ``alu`` was 2.8)."""
    from firmware_sim.calibration import calibrate

    rows, results = calibrate([((784, 50, 10), False)], device="rp2040", steps=1, sampling="lrt")
    assert results[0].bit_exact
    learn = next(r for r in rows if r.mode == "learn")
    assert abs(learn.ratio - 1.0) <= 0.05, learn.ratio


@needs_cc
def test_cli_export_c(tmp_path, capsys):
    from edge_mesu_app.cli import main

    learner = FixedMESULearner(LAYERS, seed=2)
    learner.save(tmp_path / "s.emsu")
    argv = ["export", "--state", str(tmp_path / "s.emsu"), "--c", str(tmp_path / "c"), "--c-name", "dev"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "c" / "dev.c").is_file() and "arena_bytes" in out
    assert ("instructions (measured)" in out) == (_emulator_reason() is None)
