"""The generated C front end against Python's FrontEnd: bit for bit, at every window and in the state.

The C is compiled with the host compiler (``-std=c99 -Wall -Wextra -Werror -O2``) and driven through ctypes
(:class:`edge_mesu.frontend.chost.CFrontEnd`); after every chunk of samples the C's state blob must equal
Python's :meth:`FrontEnd.state` as bytes (:mod:`edge_mesu.frontend.cblob`). The tests skip, naming the
missing tool, when no C compiler exists.
"""

from __future__ import annotations

import ctypes
import re
import subprocess

import numpy as np
import pytest

from edge_mesu.data import make_sensor_stream
from edge_mesu.device.host import find_compiler
from edge_mesu.errors import StateFileError
from edge_mesu.frontend import FrontEnd, FrontEndSpec
from edge_mesu.frontend.cblob import frontend_blob, frontend_from_blob
from edge_mesu.frontend.cgen import frontend_state_bytes, generate_frontend_c

CC = find_compiler()
needs_cc = pytest.mark.skipif(CC is None, reason="no C compiler found (cc, gcc or clang): cannot build the C")
N_CLASSES = 5

# ≥ 5,000 windows each; raw and features, decimation, hop ≠ window, majority labels, warm-up, hard settings
SPECS = {
    "raw": FrontEndSpec(channels=3, window=32),
    "raw_hop_dec": FrontEndSpec(channels=3, window=32, hop=24, decimate=2, label_rule="majority"),
    "features_dec": FrontEndSpec(channels=3, window=32, hop=16, decimate=4, features=True, warmup=1000),
    "features_majority": FrontEndSpec(channels=3, window=20, hop=30, features=True, label_rule="majority", clip=1.5),
    "raw_saturating": FrontEndSpec(channels=3, window=8, hop=6, tau_log2=5, clip=6.0, out_frac=7, min_std=0.07),
}


def _cfe(spec: FrontEndSpec, tmp_path, name: str = "cfe"):
    from edge_mesu.frontend.chost import CFrontEnd

    return CFrontEnd(spec, n_classes=N_CLASSES, workdir=tmp_path / name, name=name)


def _stream(n_windows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    s = make_sensor_stream(n_windows=n_windows, seed=seed)
    labels = s.labels.copy()
    rng = np.random.default_rng(seed)
    labels[rng.random(labels.shape[0]) < 0.2] = -1  # unlabelled samples
    return np.array(s.samples), labels


def _same(a, b, where: str) -> None:
    assert a.consumed == b.consumed, where
    assert np.array_equal(a.values, b.values), f"{where}: outputs differ"
    assert np.array_equal(a.labels, b.labels), f"{where}: window labels differ"
    assert np.array_equal(a.end, b.end), f"{where}: window ends differ"


@needs_cc
@pytest.mark.parametrize("key", sorted(SPECS))
def test_c_front_end_is_bit_exact_over_5000_windows(tmp_path, key):
    spec = SPECS[key]
    x, lab = _stream(5000 * spec.hop_samples // 32 + 200, seed=3)
    py, c = FrontEnd(spec), _cfe(spec, tmp_path)
    assert c.save() == frontend_blob(py, N_CLASSES)
    rng = np.random.default_rng(7)
    i = windows = 0
    while i < x.shape[0]:
        n = int(rng.integers(1, 3 * spec.window))  # chunks end anywhere, mostly inside windows
        a, b = py.push(x[i : i + n], lab[i : i + n]), c.push(x[i : i + n], lab[i : i + n])
        _same(a, b, f"{key}, samples {i}..{i + n}")
        assert c.save() == frontend_blob(py, N_CLASSES), f"{key}: states differ after sample {i + n}"
        i, windows = i + n, windows + len(a)
    assert windows >= 5000
    counters = py.counters.as_dict()
    assert counters.get("input_limit", 0) > 0  # the stream's running bouts hit the int16 rails
    assert counters.get("saturate" if key == "raw_saturating" else "clip", 0) > 0
    if spec.warmup:
        assert counters["warmup_windows"] > 0


@needs_cc
@pytest.mark.parametrize("key", ["raw_hop_dec", "features_dec"])
def test_save_and_restore_mid_window_resumes_exactly(tmp_path, key):
    """Stop inside a window (inside a decimation block too), move the state C → C, C → Python, Python → C."""
    spec = SPECS[key]
    x, lab = _stream(400, seed=5)
    ref = FrontEnd(spec)
    whole = ref.push(x, lab)
    cut = 17 * spec.window + spec.window // 2 + 1  # mid-window, and not on a decimation boundary
    assert cut % spec.hop_samples and cut % spec.decimate
    a = _cfe(spec, tmp_path, "a")
    first = a.push(x[:cut], lab[:cut])
    blob = a.save()
    b = _cfe(spec, tmp_path, "b")
    assert b.load(blob) == 0 and b.save() == blob
    rest_c = b.push(x[cut:], lab[cut:])
    py = frontend_from_blob(spec, blob, N_CLASSES)  # the device's state continues in Python
    rest_py = py.push(x[cut:], lab[cut:])
    _same(rest_c, rest_py, "after the C state moved to Python")
    assert np.array_equal(np.concatenate([first.values, rest_c.values]), whole.values)
    assert np.array_equal(np.concatenate([first.end, rest_c.end]), whole.end)
    assert b.save() == frontend_blob(ref, N_CLASSES) == frontend_blob(py, N_CLASSES)
    # Python → C: a Python state (mid-window) loaded into C continues identically
    half = FrontEnd(spec)
    half.push(x[: cut + 3], lab[: cut + 3])
    c = _cfe(spec, tmp_path, "c")
    assert c.load(frontend_blob(half, N_CLASSES)) == 0
    _same(c.push(x[cut + 3 :], lab[cut + 3 :]), half.push(x[cut + 3 :], lab[cut + 3 :]), "Python state in C")


@needs_cc
def test_max_windows_freeze_and_single_sample_push(tmp_path):
    spec = FrontEndSpec(channels=3, window=16, hop=8, decimate=2, label_rule="majority")
    x, lab = _stream(200, seed=9)
    py, c = FrontEnd(spec), _cfe(spec, tmp_path)
    i = 0
    for k in range(40):  # checkpoints between any two windows, as SensorPipeline.process(max_windows=K)
        _same(py.push(x[i:], lab[i:], max_windows=k % 4), out := c.push(x[i:], lab[i:], max_windows=k % 4), "max")
        i += out.consumed
    py.freeze()
    c.freeze()
    _same(py.push(x[i : i + 500], lab[i : i + 500]), c.push(x[i : i + 500], lab[i : i + 500]), "frozen")
    assert c.save() == frontend_blob(py, N_CLASSES)
    py.freeze(False)
    c.freeze(False)
    i += 500
    one = _cfe(spec, tmp_path, "one")  # name_push, one sample at a time, gives the same windows as push_block
    assert one.load(c.save()) == 0
    got = [one.push_one(x[j], int(lab[j])) for j in range(i, i + 300)]
    ref = py.push(x[i : i + 300], lab[i : i + 300])
    done = [g for g in got if g is not None]
    assert len(done) == len(ref) > 0
    assert np.array_equal(np.stack([g[0] for g in done]), ref.values)
    assert [g[1] for g in done] == ref.labels.tolist()
    assert one.save() == frontend_blob(py, N_CLASSES)


@needs_cc
def test_portable_shifts_give_the_same_integers(tmp_path):
    """The C99-only arithmetic shift (no reliance on GCC's documented >>) is bit-exact too."""
    from edge_mesu.frontend.chost import CFrontEnd

    spec = SPECS["features_dec"]
    x, lab = _stream(600, seed=4)
    c = CFrontEnd(spec, N_CLASSES, workdir=tmp_path / "p", defines=("CFE_PORTABLE_SHIFTS",))
    py = FrontEnd(spec)
    _same(py.push(x, lab), c.push(x, lab), "portable shifts")
    assert c.save() == frontend_blob(py, N_CLASSES)


@needs_cc
def test_adversarial_inputs_dead_channel_and_int16_limits(tmp_path):
    spec = FrontEndSpec(channels=4, window=10, hop=7, features=True)
    rng = np.random.default_rng(2)
    x = rng.integers(-32768, 32768, size=(20000, 4)).astype(np.int16)
    x[:, 1] = 0  # dead: σ at its floor
    x[5000:6000, 2] = 32767  # stuck at the rail
    x[::13, 3] = -32768
    x[8000:, 0] = (x[8000:, 0] // 512).astype(np.int16)  # gain step
    py, c = FrontEnd(spec), _cfe(spec, tmp_path)
    _same(py.push(x), c.push(x), "adversarial")
    assert c.save() == frontend_blob(py)


@needs_cc
def test_bad_blobs_are_refused_and_leave_the_state(tmp_path):
    spec = SPECS["raw_hop_dec"]
    x, lab = _stream(30, seed=1)
    py, c = FrontEnd(spec), _cfe(spec, tmp_path)
    py.push(x, lab)
    blob = frontend_blob(py, N_CLASSES)
    before = c.save()
    corrupt = bytearray(blob)
    corrupt[60] ^= 4
    assert c.load(bytes(corrupt)) == -4 and c.save() == before
    assert c.load(blob[:-1]) == -1
    other = frontend_blob(FrontEnd(FrontEndSpec(channels=3, window=32, hop=24, decimate=2, label_rule="majority")), 6)
    assert c.load(other) == -3  # another class count: another configuration
    bad_magic = b"XMFE" + blob[4:]
    assert c.load(bad_magic) == -2
    with pytest.raises(StateFileError, match="CRC32"):
        frontend_from_blob(spec, bytes(corrupt), N_CLASSES)
    with pytest.raises(StateFileError, match="hash"):
        frontend_from_blob(spec, other, N_CLASSES)
    with pytest.raises(StateFileError, match="bytes"):
        frontend_from_blob(spec, blob[:-2], N_CLASSES)
    assert c.load(blob) == 0 and c.save() == blob
    # a save buffer smaller than NAME_STATE_BYTES: nothing written, 0 returned
    short = ctypes.create_string_buffer(b"\xaa" * (len(blob) - 1), len(blob) - 1)
    assert c._fn("state_save", ctypes.c_size_t)(c._state, short, ctypes.c_size_t(len(blob) - 1)) == 0
    assert short.raw == b"\xaa" * (len(blob) - 1)


def test_generator_checks_and_sizes():
    spec = FrontEndSpec(channels=3, window=32, label_rule="majority")
    with pytest.raises(ValueError, match="n_classes"):
        generate_frontend_c(spec)
    with pytest.raises(ValueError, match="tau_log2"):
        generate_frontend_c(FrontEndSpec(channels=1, window=4, tau_log2=0))
    src = generate_frontend_c(spec, name="My FE", n_classes=4)
    assert sorted(src.files) == ["my_fe.c", "my_fe.h"]
    text = "".join(src.files.values())
    assert not re.search(r"\bmalloc\s*\(|\bfloat\b|\bdouble\b", text)
    assert src.macros["MY_FE_STATE_BYTES"] == frontend_state_bytes(spec) == 48 + 16 * 3 + 2 * 32 * 3 + 2 * 31 + 4
    fe = FrontEnd(spec)
    assert len(frontend_blob(fe, 4)) == frontend_state_bytes(spec)
    assert frontend_blob(frontend_from_blob(spec, frontend_blob(fe, 4), 4), 4) == frontend_blob(fe, 4)


@needs_cc
def test_generated_front_end_compiles_pedantic(tmp_path):
    for k, spec in enumerate(SPECS.values()):
        src = generate_frontend_c(spec, name=f"fe{k}", n_classes=N_CLASSES)
        for name, text in src.files.items():
            (tmp_path / name).write_text(text)
        subprocess.run(
            [CC, "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-Wconversion", "-c", f"fe{k}.c"],
            cwd=tmp_path,
            check=True,
            capture_output=True,
        )
