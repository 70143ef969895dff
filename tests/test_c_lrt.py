"""Local reparameterisation in the generated C (``sampling="lrt"``): bit for bit the numpy learner, after every update.

The numpy path (:mod:`edge_mesu.fixed.lrt`, ``step._learn_lrt``) is the reference; the C's learn path is compiled in
by the header's ``NAME_LRT`` (``csrc/template_core.c``). Compared: the whole state blob (μ, σ codes, seed, step and
saturation counters) after every update of the exported library, the host backend's learner against the numpy
learner, and the emulated Cortex-M4 and Cortex-M0+ builds. Helpers are tests/test_c_firmware.py's.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from test_c_firmware import (  # noqa: F401 (fixture)
    CC,
    Firmware,
    _assert_both_loop_forms_ran,
    _cache,
    _emulator_reason,
    _host_vector_builds,
    needs_cc,
    needs_emu,
)

from edge_mesu.fixed import FixedMESULearner
from edge_mesu.fixed.buffers import arena_buffers
from edge_mesu.fixed.cblob import learner_from_blob, state_blob
from edge_mesu.fixed.cgen import config_hash, generate_c
from edge_mesu.registry import make_learner
from export import to_c


class EditedFirmware(Firmware):
    """:class:`Firmware` whose generated files are edited before compiling (``edit(name, text) -> text``)."""

    def __init__(self, learner: FixedMESULearner, tmp_path: Path, edit: Callable[[str, str], str], name: str = "fw"):
        super().__init__(learner, tmp_path, name=name, edit=edit)


def _inputs(n: int, layers: tuple[int, ...], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Float rows with every kind of hard input: int8 saturation (×4 rows), all-zero rows, dead channels."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, layers[0])) * 1.3
    X[::5] *= 4.0  # saturate the int8 input format
    X[::7] = 0.0  # no input: s_j = 0 without biases
    X[:, 1] = 0.0  # a dead channel
    y = (np.argmax(X[:, : layers[-1]], axis=1) + (rng.random(n) < 0.2)) % layers[-1]
    return X, y


CASES = [
    ((16, 12, 4), {"bias": True}),
    ((16, 12, 4), {"bias": False}),
    ((10, 8, 6, 3), {"bias": True, "rounding": "nearest", "ratio_max": None}),
    ((11, 9, 7, 5), {"bias": False}),
    ((9, 10, 3), {"bias": True, "rounding": "nearest"}),
]


@needs_cc
@pytest.mark.parametrize("layers, kw", CASES)
def test_lrt_c_bit_exact_after_every_update(tmp_path, layers, kw):
    """The exported library (its own state) against the numpy learner: the whole blob after each update."""
    learner = FixedMESULearner(layers, N=400, seed=11, sampling="lrt", **kw)
    fw = Firmware(learner, tmp_path)
    X, y = _inputs(300, layers, seed=len(layers))
    Xq = learner.quantize(X)
    assert (np.abs(Xq.astype(int)) >= 127).any() and (Xq == 0).all(axis=1).any()  # saturated and zero rows
    assert fw.blob() == state_blob(learner)
    for i in range(len(X)):
        learner.learn_one_q(Xq[i], int(y[i]))  # quantised input: the C core takes int8, no input counter
        assert fw.learn(Xq[i], int(y[i])) == 0
        assert fw.blob() == state_blob(learner), f"C and numpy states differ after update {i + 1}"
    counts = learner.counters.as_dict()
    assert counts.get("mu_step_clip", 0) + counts.get("sigma_step_clip", 0) > 0, counts  # the clips agree too
    for i in range(50):  # the trained mean network predicts the same integers
        best, p = fw.predict(Xq[i])
        assert np.array_equal(p, learner.proba_q15(Xq[i : i + 1])[0, 0])


@needs_cc
def test_lrt_c_saturates_as_numpy(tmp_path):
    """Large μ windows and inputs: accumulator, activation and δ saturations are counted alike."""
    layers = (8, 6, 3)
    learner = FixedMESULearner(layers, N=50, seed=2, sampling="lrt", sigma_init=0.5, mu_frac=[6, 6], act_frac=12)
    fw = Firmware(learner, tmp_path)
    X, y = _inputs(200, layers, seed=4)
    Xq = learner.quantize(X * 3)
    for i in range(len(X)):
        learner.learn_one_q(Xq[i], int(y[i]))
        fw.learn(Xq[i], int(y[i]))
        assert fw.blob() == state_blob(learner), f"after update {i + 1}"
    counts = learner.counters.as_dict()
    assert counts.get("act", 0) > 0, counts


@needs_cc
def test_the_lrt_build_is_not_the_weights_build_and_edits_break_equality(tmp_path):
    """The tests can fail: another ε stream, layer 0's σ² table halved, or weight sampling's numpy learner each
    give other states."""
    layers = (12, 8, 3)
    X, y = _inputs(60, layers, seed=1)

    def run(fw: Firmware, learner: FixedMESULearner) -> tuple[bytes, bytes]:
        Xq = learner.quantize(X)
        for i in range(len(X)):
            learner.learn_one_q(Xq[i], int(y[i]))
            fw.learn(Xq[i], int(y[i]))
        return fw.blob(), state_blob(learner)

    def lrt() -> FixedMESULearner:
        return FixedMESULearner(layers, seed=5, sampling="lrt")

    good = run(Firmware(lrt(), tmp_path, name="ok"), lrt())
    assert good[0] == good[1]
    weights = run(Firmware(lrt(), tmp_path, name="w"), FixedMESULearner(layers, seed=5, sampling="weights"))
    assert weights[0] != weights[1]  # the same blob header (config hash), other learning

    def stream(name: str, text: str) -> str:
        return text.replace("#define S_LRT_STREAM 196608", "#define S_LRT_STREAM 196609")

    def table(name: str, text: str) -> str:  # layer 0's σ² halved (a low bit alone hardly moves S's top bits)
        head = "static const uint16_t t_sq16_l0[256] = {"
        if not name.endswith("_model.h"):
            return text
        start = text.index(head) + len(head)
        end = text.index("}", start)
        body = ", ".join(str(int(v) // 2) for v in text[start:end].replace("\n", " ").split(","))
        return text[:start] + body + text[end:]

    for name, edit in (("s", stream), ("t", table)):
        bad = run(EditedFirmware(lrt(), tmp_path, edit, name=name), lrt())
        assert bad[0] != bad[1], name


@needs_cc
@pytest.mark.parametrize("kw", [{"bias": True}, {"bias": False, "rounding": "nearest"}])
def test_c_backend_lrt_learner_equals_numpy(kw):
    layers = (16, 12, 4)
    X, y = _inputs(400, layers, seed=6)
    a = FixedMESULearner(layers, seed=21, sampling="lrt", **kw)
    b = FixedMESULearner(layers, seed=21, sampling="lrt", backend="c", **kw)
    assert b._c is not None and b._c.macros["EMSU_HOST_LRT"] == 1
    for i in range(150):
        a.learn_one(X[i], y[i])
        b.learn_one(X[i], y[i])
        assert a.to_bytes() == b.to_bytes(), i
    a.learn_many(X[150:], y[150:])
    b.learn_many(X[150:], y[150:])
    b.learn_many(X[:12], y[:12], batch_size=4)  # mini-batches run in numpy; C resumes on their state
    a.learn_many(X[:12], y[:12], batch_size=4)
    a.learn_one(X[0], y[0])
    b.learn_one(X[0], y[0])
    assert a.counters["input"] > 0 and a.to_bytes() == b.to_bytes()
    assert np.array_equal(a.predict_proba(X), b.predict_proba(X))
    Xq = a.quantize(X[:20])
    ua, ub = a.uncertainty_int_q(Xq, 4), b.uncertainty_int_q(Xq, 4)
    assert np.array_equal(ua.mi, ub.mi) and np.array_equal(ua.mean_q15, ub.mean_q15)
    reg = make_learner("fixed-c-lrt", layers=layers, seed=21, **kw)
    assert reg.sampling == "lrt" and reg.backend == "c" and reg._c is not None


@needs_cc
@pytest.mark.parametrize(
    "layers, kw",
    [
        ((16, 12, 4), {"bias": False}),
        ((11, 13, 5, 3), {"bias": True}),
        ((9, 10, 3), {"bias": True, "rounding": "nearest"}),
        ((10, 8, 6, 3), {"bias": False, "rounding": "nearest", "ratio_max": None}),
    ],
)
def test_host_lrt_vector_loops_equal_the_portable_build(layers, kw):
    """The LRT learn path's host vector loops (vmac_lrt, vupdate_lrt; -march=native / -mavx2 builds, AVX2) and its
    portable build (the device loops) give numpy's state bytes after every update: widths that leave a padded
    vector tail (12, 13, 10, 6 of 8 lanes), widths of whole vectors (8), biases, both roundings, saturating
    inputs, zero rows, clipped steps and codes."""
    from edge_mesu.fixed.cbackend import CKernels

    X, y = _inputs(240, layers, seed=9)
    builds = _host_vector_builds()
    ref = FixedMESULearner(layers, N=300, seed=5, sampling="lrt", **kw)
    learners = [FixedMESULearner(layers, N=300, seed=5, sampling="lrt", backend="c", **kw) for _ in builds]
    for m, flags in zip(learners, builds):
        m._c = CKernels(m, flags=flags)  # explicit flags: a failing build raises, never falls back
        assert m._c.flags == flags and m._c.macros["EMSU_HOST_LRT"] == 1
    for i in range(80):  # after every update
        ref.learn_one(X[i], y[i])
        for m in learners:
            m.learn_one(X[i], y[i])
            assert m.to_bytes() == ref.to_bytes(), (m._c.flags, i)
    for start in range(80, 240, 80):
        ref.learn_many(X[start : start + 80], y[start : start + 80])
        for m in learners:
            m.learn_many(X[start : start + 80], y[start : start + 80])
            assert m.to_bytes() == ref.to_bytes(), (m._c.flags, start)
    counts = ref.counters.as_dict()
    clips = sum(counts.get(k, 0) for k in ("mu_step_clip", "sigma_step_clip", "sigma_code"))
    assert clips > 0 and counts.get("input", 0) > 0, counts
    _assert_both_loop_forms_ran(learners)


def test_lrt_arena_config_hash_and_refusals(tmp_path):
    lrt = FixedMESULearner((12, 8, 3), seed=3, sampling="lrt")
    weights = FixedMESULearner((12, 8, 3), seed=3, sampling="weights")
    names = [b.name for b in lrt.describe().buffer_lists["learn"]]
    assert {"var", "var32", "noise", "unum", "u16", "tback"} <= set(names)
    assert [b.name for b in arena_buffers((12, 8, 3), "learn")] == [
        b.name for b in weights.describe().buffer_lists["learn"]
    ]
    src = generate_c(lrt, name="n")
    assert src.macros["N_LRT"] == 1 and generate_c(weights, name="n").macros["N_LRT"] == 0
    assert src.macros["N_ARENA_BYTES"] > generate_c(weights, name="n").macros["N_ARENA_BYTES"]
    # the blob's hash leaves the sampling out: a state moves between the two builds of one network
    assert config_hash(lrt.describe().fixed) == config_hash(weights.describe().fixed)
    X, y = _inputs(30, (12, 8, 3), seed=0)
    lrt.learn_many(X, y)
    moved = learner_from_blob(weights, state_blob(lrt))
    assert moved.sampling == "weights" and np.array_equal(moved.flat_state()[0], lrt.flat_state()[0])
    # what the C still cannot do is refused by name, before anything is written
    with pytest.raises(ValueError, match="train_samples=1"):
        to_c(FixedMESULearner((4, 3, 2), sampling="lrt", train_samples=2), tmp_path / "out")
    with pytest.raises(ValueError, match="centered"):
        to_c(FixedMESULearner((4, 3, 2), sigma_grad="centered"), tmp_path / "out")
    assert not (tmp_path / "out").exists()
    if CC is not None:
        with pytest.raises(ValueError, match="train_samples"):
            FixedMESULearner((4, 3, 2), sampling="lrt", train_samples=2, backend="c")


@needs_emu
@pytest.mark.parametrize("cpu", ["cortex-m4", "cortex-m0plus"])
@pytest.mark.parametrize("layers, bias", [((12, 6, 3), True), ((10, 7, 5, 3), False)])
def test_emulated_cores_run_lrt_bit_exact(cpu, layers, bias):
    from firmware_sim.emulate import emulate

    X, y = _inputs(4, layers, seed=3)
    res = emulate(FixedMESULearner(layers, bias=bias, seed=2, sampling="lrt"), steps=4, X=X, y=y, cpu=cpu)
    assert res.bit_exact and res.cpu == cpu and min(res.learn_instructions) > 0


@needs_emu
@pytest.mark.parametrize("layers, bias", [((9, 6, 3), True), ((12, 7, 4), False)])
def test_emulated_m4_lrt_dual_mac_is_bit_exact(layers, bias):
    """dense_lrt's row pairs through the ACLE dual MAC (NET_USE_ACLE, __smlad) and through the portable expression
    give numpy's integers: odd fan_in (the unpaired last row), pairs with one zero input (a dead channel), all-zero
    rows (skipped pairs), saturating inputs."""
    from firmware_sim.emulate import emulate

    X, y = _inputs(8, layers, seed=5)
    learner = FixedMESULearner(layers, bias=bias, seed=4, sampling="lrt")
    acle = emulate(learner, steps=8, X=X, y=y, acle=True)
    plain = emulate(learner, steps=8, X=X, y=y)
    assert acle.bit_exact and plain.bit_exact and "-DNET_USE_ACLE" in acle.flags
    assert acle.learn_instructions != plain.learn_instructions  # two builds, not one


@needs_emu
@pytest.mark.parametrize("cpu, acle", [("cortex-m4", False), ("cortex-m4", True), ("cortex-m0plus", False)])
def test_emulated_lrt_clips_beyond_the_fast_tests_are_exact(cpu, acle):
    """update_row_lrt tests the sigma step and the new mu against powers of two first (NET_UMAX_FAST,
    NET_MU_LIM_FAST; the M4 build, not ARMv6-M) and exactly only beyond them: μ spread over the whole ±mu_lim window
    (a third beyond the fast bound, some at the limit) and saturating inputs take every branch (μ clipped, σ step
    clipped, beyond the fast bound but inside the limit) and give numpy's integers; with NET_USE_ACLE the σ step's
    shift is clamped by __usat (EMSU_MIN31: here shifts up to 28; the default learners of
    test_emulated_m4_lrt_dual_mac_is_bit_exact reach beyond 31)."""
    from firmware_sim.emulate import emulate

    layers = (12, 7, 4)
    learner = FixedMESULearner(layers, bias=True, seed=3, sampling="lrt", sigma_init=0.5)
    lim = int(min(learner.plan.tables["mu_lim"]))
    fast = generate_c(learner, name="net").files["net.h"]
    assert f"#define NET_MU_LIM_FAST {1 << (lim.bit_length() - 1)}" in fast
    rng = np.random.default_rng(1)
    mu = rng.integers(-lim, lim + 1, learner.n_params())
    mu[::5] = lim * np.sign(mu[::5])  # at the limit: steps outwards clip
    learner._mu = mu
    X, y = _inputs(6, layers, seed=6)
    twin = FixedMESULearner.from_bytes(learner.to_bytes())
    for i in range(len(X)):
        twin.learn_one(X[i] * 3, int(y[i]))
    counts = twin.counters.as_dict()
    assert counts.get("mu", 0) > 0 and counts.get("sigma_step_clip", 0) > 0, counts
    inside = np.abs(twin.flat_state()[0].astype(int))
    assert ((inside > (1 << (lim.bit_length() - 1))) & (inside < lim)).any()
    res = emulate(learner, steps=len(X), X=X * 3, y=y, cpu=cpu, acle=acle)
    assert res.bit_exact and ("-DNET_USE_ACLE" in res.flags) == acle


@needs_cc
def test_c_isqrt_round_is_numpys(tmp_path):
    """isqrt_round of the generated C (digit by digit in 32-bit words) against lrt.isqrt_round over its whole
    domain v < 2**SQRT_TOP: 0, both words' paths, squares, the rounding edges r² + r and r² + r + 1, the top."""
    from edge_mesu.fixed.lrt import SQRT_TOP, isqrt_round

    src = generate_c(FixedMESULearner((4, 3, 2), sampling="lrt"), name="n")
    for name, text in src.files.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "drv.c").write_text(
        '#include <stdio.h>\n#include "n.c"\nint main(void) {\n    unsigned long long v;\n'
        '    while (scanf("%llu", &v) == 1) {\n        printf("%lu\\n", (unsigned long)isqrt_round(v));\n    }\n'
        "    return 0;\n}\n"
    )
    exe = tmp_path / "drv"
    subprocess.run([CC, "-std=c99", "-O2", "-o", str(exe), str(tmp_path / "drv.c")], check=True, capture_output=True)
    rng = np.random.default_rng(0)
    r = np.concatenate([np.arange(0, 70), rng.integers(0, 2 ** (SQRT_TOP // 2), 3000), [2 ** (SQRT_TOP // 2) - 1]])
    r = r.astype(np.int64)
    v = np.concatenate([r * r, r * r + r, r * r + r + 1, (r * r - 1)[r > 0], 2 ** np.arange(SQRT_TOP)])
    v = np.concatenate([v, rng.integers(0, 2**32, 2000), rng.integers(0, 2**SQRT_TOP, 2000), [2**SQRT_TOP - 1]])
    v = v[(v >= 0) & (v < 2**SQRT_TOP)]
    out = subprocess.run([str(exe)], input="\n".join(map(str, v.tolist())), capture_output=True, text=True, check=True)
    got = np.array(out.stdout.split(), dtype=np.int64)
    want = isqrt_round(v)
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, [(int(v[k]), int(got[k]), int(want[k])) for k in bad[:5]]
