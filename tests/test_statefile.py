"""The binary state file: every truncation and every single-byte corruption is refused; writes are atomic."""

from __future__ import annotations

import json
import os
import stat
import struct
import zlib

import numpy as np
import pytest

from edge_mesu import FixedMESULearner, MESULearner, StateFileError, statefile
from edge_mesu.statefile import FORMAT_VERSION, MAGIC, atomic_write_bytes, decode_state, encode_state

_PREFIX = struct.Struct("<4sHHI")


@pytest.fixture(scope="module")
def small_bytes() -> bytes:
    """A small but complete state file (float learner: JSON header with the PCG64 state, float32 payload)."""
    m = MESULearner(layers=(2, 3, 2), N=100.0, sigma_init=0.1, seed=1)
    m.learn_many(np.array([[0.5, -1.0], [1.0, 0.2]]), [0, 1])
    return m.to_bytes()


@pytest.fixture(scope="module")
def fixed_bytes() -> bytes:
    m = FixedMESULearner(layers=(6, 5, 3), N=1000.0, sigma_init=0.1, seed=1)
    m.learn_many(np.random.default_rng(0).normal(size=(20, 6)), np.arange(20) % 3)
    return m.to_bytes()


def _with_crc(body: bytes) -> bytes:
    return body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


def test_fixture_round_trips(small_bytes: bytes, fixed_bytes: bytes) -> None:
    assert MESULearner.from_bytes(small_bytes).to_bytes() == small_bytes
    assert FixedMESULearner.from_bytes(fixed_bytes).to_bytes() == fixed_bytes
    assert small_bytes[:4] == MAGIC and 300 < len(small_bytes) < 5000


# -- truncation and corruption ------------------------------------------------------------------------------


def test_every_truncation_is_refused(small_bytes: bytes) -> None:
    for n in range(len(small_bytes)):
        with pytest.raises(StateFileError):
            decode_state(small_bytes[:n])


def test_truncations_of_fixed_file_are_refused_by_the_learner(fixed_bytes: bytes) -> None:
    positions = np.unique(np.linspace(0, len(fixed_bytes) - 1, 60).astype(int))
    for n in positions:
        with pytest.raises(StateFileError):
            FixedMESULearner.from_bytes(fixed_bytes[:n])


def test_every_single_byte_flip_is_refused(small_bytes: bytes) -> None:
    # CRC32 detects every error burst of at most 32 bits, so every single-byte change must be caught
    for i in range(len(small_bytes)):
        for mask in (0x01, 0xFF):
            bad = bytearray(small_bytes)
            bad[i] ^= mask
            with pytest.raises(StateFileError):
                MESULearner.from_bytes(bytes(bad))


def test_byte_flips_in_fixed_file_are_refused(fixed_bytes: bytes) -> None:
    rng = np.random.default_rng(0)
    for i in rng.choice(len(fixed_bytes), size=60, replace=False):
        bad = bytearray(fixed_bytes)
        bad[i] ^= int(rng.integers(1, 256))
        with pytest.raises(StateFileError):
            FixedMESULearner.from_bytes(bytes(bad))


def test_corrupt_file_on_disk_is_refused_with_its_path(tmp_path, small_bytes: bytes) -> None:
    path = tmp_path / "dev.state"
    bad = bytearray(small_bytes)
    bad[len(bad) // 2] ^= 0x40
    path.write_bytes(bytes(bad))
    with pytest.raises(StateFileError, match="CRC32") as info:
        MESULearner.load(path)
    assert str(path) in str(info.value)
    path.write_bytes(small_bytes[:-7])
    with pytest.raises(StateFileError):
        MESULearner.load(path)
    path.write_bytes(b"")
    with pytest.raises(StateFileError, match="truncated"):
        MESULearner.load(path)
    with pytest.raises(StateFileError, match="cannot read"):
        MESULearner.load(tmp_path / "missing.state")


def test_wrong_magic(small_bytes: bytes) -> None:
    body = b"XMSU" + small_bytes[4:-4]
    with pytest.raises(StateFileError, match="not an edge-mesu state file"):
        decode_state(_with_crc(body))
    with pytest.raises(StateFileError, match="not an edge-mesu state file"):
        decode_state(b"PK\x03\x04" + bytes(40))  # e.g. a zip file


@pytest.mark.parametrize("fix_crc", [True, False])
def test_newer_version_is_refused_as_newer(small_bytes: bytes, fix_crc: bool) -> None:
    body = bytearray(small_bytes[:-4])
    struct.pack_into("<H", body, 4, FORMAT_VERSION + 1)
    data = _with_crc(bytes(body)) if fix_crc else bytes(body) + small_bytes[-4:]
    with pytest.raises(StateFileError, match="newer"):
        MESULearner.from_bytes(data)


def test_version_zero_is_invalid(small_bytes: bytes) -> None:
    body = bytearray(small_bytes[:-4])
    struct.pack_into("<H", body, 4, 0)
    with pytest.raises(StateFileError, match="version"):
        decode_state(_with_crc(bytes(body)))


def _craft(header: dict | bytes, payload: bytes = b"", hlen: int | None = None) -> bytes:
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    return _with_crc(_PREFIX.pack(MAGIC, FORMAT_VERSION, 0, len(h) if hlen is None else hlen) + h + payload)


@pytest.mark.parametrize(
    "case, data, match",
    [
        ("header runs past end", _craft({"kind": "X", "meta": {}, "arrays": []}, hlen=10_000), "header length"),
        ("not JSON", _craft(b"{not json"), "header"),
        ("not UTF-8", _craft(b"\xff\xfe\x00"), "header"),
        ("missing key", _craft({"kind": "X", "meta": {}}), "header"),
        (
            "payload too short",
            _craft({"kind": "X", "meta": {}, "arrays": [["a", "float64", [4]]]}, bytes(16)),
            "runs past",
        ),
        ("trailing bytes", _craft({"kind": "X", "meta": {}, "arrays": [["a", "uint8", [2]]]}, bytes(3)), "trailing"),
        ("unsupported dtype", _craft({"kind": "X", "meta": {}, "arrays": [["a", "object", [1]]]}, bytes(8)), "dtype"),
    ],
)
def test_crafted_headers_with_valid_crc_are_refused(case: str, data: bytes, match: str) -> None:
    with pytest.raises(StateFileError, match=match):
        decode_state(data)


@pytest.mark.parametrize(
    "case, spec",
    [
        ("negative dimension", ["a", "uint8", [-1]]),
        pytest.param("non-integer dimension", ["a", "uint8", ["x"]]),
        pytest.param("spec not a triple", ["a", "uint8"]),
        ("shape not a list", ["a", "uint8", 3]),
    ],
)
def test_malformed_array_specs_are_refused_as_state_file_errors(case: str, spec: list) -> None:
    """A structurally wrong header must give the package's StateFileError, not a numpy/unpacking error."""
    data = _craft({"kind": "X", "meta": {}, "arrays": [spec]}, bytes(4))
    with pytest.raises(StateFileError):
        decode_state(data)


def test_kind_mismatch_names_both_classes(small_bytes: bytes) -> None:
    with pytest.raises(StateFileError, match="MESULearner.*FixedMESULearner"):
        FixedMESULearner.from_bytes(small_bytes)


# -- encoding -----------------------------------------------------------------------------------------------


def test_all_allowed_dtypes_round_trip_in_any_byte_order() -> None:
    rng = np.random.default_rng(0)
    arrays = {}
    for name in ("int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"):
        info = np.iinfo(name)
        arrays[name] = rng.integers(info.min, info.max, size=(3, 2), dtype=name, endpoint=True)
    arrays["float32"] = rng.normal(size=(5,)).astype(np.float32)
    arrays["float64"] = np.array([0.0, -0.0, 1e-308, -1.5e300, np.pi])
    arrays["big_endian"] = np.arange(6, dtype=">i4").reshape(2, 3)
    arrays["fortran"] = np.asfortranarray(np.arange(12, dtype=np.int16).reshape(3, 4))
    arrays["empty"] = np.zeros((0, 3), dtype=np.uint8)
    data = encode_state("K", {"a": [1, 2], "b": {"c": None}}, arrays)
    kind, meta, out = decode_state(data)
    assert kind == "K" and meta == {"a": [1, 2], "b": {"c": None}}
    assert list(out) == list(arrays)
    for name, a in arrays.items():
        assert out[name].shape == a.shape, name
        np.testing.assert_array_equal(out[name], a)
        assert out[name].dtype.isnative
    assert encode_state("K", {"a": [1, 2], "b": {"c": None}}, out) == data  # canonical bytes


def test_zero_dimensional_array_keeps_its_shape() -> None:
    _, _, out = decode_state(encode_state("K", {}, {"scalar": np.array(7, dtype=np.int32)}))
    assert out["scalar"].shape == () and int(out["scalar"]) == 7


def test_unsupported_dtypes_and_nan_meta_refused_on_encode() -> None:
    for bad in (np.zeros(2, np.float16), np.zeros(2, np.complex64), np.array(["a"]), np.zeros(2, bool)):
        with pytest.raises(ValueError, match="dtype"):
            encode_state("K", {}, {"x": bad})
    with pytest.raises(ValueError):
        encode_state("K", {"x": float("nan")}, {})


def test_equal_states_give_equal_files(tmp_path) -> None:
    a = MESULearner(layers=(3, 4, 2), seed=2)
    b = MESULearner(layers=(3, 4, 2), seed=2)
    a.save(tmp_path / "a")
    b.save(tmp_path / "b")
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes()


# -- atomic writes and the reported size --------------------------------------------------------------------


@pytest.mark.parametrize("cls", [MESULearner, FixedMESULearner])
def test_reported_size_equals_file_size(tmp_path, cls) -> None:
    m = cls(layers=(6, 5, 3), seed=0)
    path = tmp_path / "m.state"
    size = m.save(path)
    assert size == os.path.getsize(path) == len(m.to_bytes())
    assert sorted(os.listdir(tmp_path)) == ["m.state"]  # no temporary file left behind


def test_save_overwrites_atomically(tmp_path) -> None:
    path = tmp_path / "m.state"
    a = FixedMESULearner(layers=(4, 3), seed=0)
    a.save(path)
    a.learn_one([0.1, 0.2, 0.3, 0.4], 1)
    a.save(path)
    assert path.read_bytes() == a.to_bytes()
    assert os.listdir(tmp_path) == ["m.state"]


@pytest.mark.parametrize("fail_at", ["replace", "fsync", "write"])
def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path, monkeypatch, fail_at: str) -> None:
    path = tmp_path / "m.state"
    old = MESULearner(layers=(4, 3), seed=0)
    old.save(path)
    before = path.read_bytes()
    new = MESULearner(layers=(4, 3), seed=1)

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    if fail_at == "replace":
        monkeypatch.setattr(statefile.os, "replace", boom)
    elif fail_at == "fsync":
        monkeypatch.setattr(statefile.os, "fsync", boom)
    else:
        real_fdopen = os.fdopen

        class _Broken:
            def __init__(self, fh):
                self._fh = fh

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self._fh.close()
                return False

            def write(self, data):
                self._fh.write(data[: len(data) // 2])  # half written, then the device fails
                raise OSError(5, "I/O error")

        monkeypatch.setattr(statefile.os, "fdopen", lambda fd, mode: _Broken(real_fdopen(fd, mode)))
    with pytest.raises(OSError):
        new.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.state"]
    assert MESULearner.load(path).to_bytes() == before


def test_atomic_write_bytes_creates_and_replaces(tmp_path) -> None:
    p = tmp_path / "x.bin"
    atomic_write_bytes(p, b"one")
    atomic_write_bytes(str(p), b"two")
    assert p.read_bytes() == b"two" and os.listdir(tmp_path) == ["x.bin"]


def test_atomic_write_respects_the_umask_keeps_a_mode_and_names_the_users_path(tmp_path) -> None:
    old = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "new", b"x")  # mkstemp alone would give 0600
        assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o644
        os.umask(0o077)
        atomic_write_bytes(tmp_path / "private", b"x")
        assert stat.S_IMODE((tmp_path / "private").stat().st_mode) == 0o600
    finally:
        os.umask(old)
    (tmp_path / "kept").write_bytes(b"a")
    os.chmod(tmp_path / "kept", 0o640)
    atomic_write_bytes(tmp_path / "kept", b"b")
    assert stat.S_IMODE((tmp_path / "kept").stat().st_mode) == 0o640 and (tmp_path / "kept").read_bytes() == b"b"
    with pytest.raises(OSError) as err:
        atomic_write_bytes(tmp_path / "no" / "s.emsu", b"x")
    assert err.value.filename == str(tmp_path / "no" / "s.emsu") and ".tmp" not in str(err.value)
    assert "directory" in str(err.value.strerror)


def _as_version(data: bytes, version: int) -> bytes:
    """``data`` with another format version in its header and a matching CRC."""
    body = bytearray(data[:-4])
    struct.pack_into("<H", body, 4, version)
    return bytes(body) + struct.pack("<I", zlib.crc32(bytes(body)) & 0xFFFFFFFF)


def test_format_1_fixed_state_is_converted_with_a_warning_and_continues() -> None:
    """A format-1 file of a fixed learner (same layout, 64-bit arithmetic) loads: its μ, codes, seed, step and
    counters are kept, a StateFormatWarning says it is converted, and learning goes on under format 2 exactly
    as a learner built from the same arrays in format 2 does."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 6)), rng.integers(0, 3, 40)
    m = FixedMESULearner(layers=(6, 5, 3), seed=4)
    m.learn_many(X[:20], y[:20])
    v1 = _as_version(m.to_bytes(), 1)
    with pytest.warns(statefile.StateFormatWarning, match="format 1.*converted"):
        old = FixedMESULearner.from_bytes(v1)
    assert old.step == m.step and old.to_bytes() == m.to_bytes()  # nothing misread; saved as format 2
    assert struct.unpack_from("<H", old.to_bytes(), 4)[0] == FORMAT_VERSION == 2
    old.learn_many(X[20:], y[20:])
    m.learn_many(X[20:], y[20:])
    assert old.to_bytes() == m.to_bytes()


def test_format_1_mu_beyond_the_format_2_limit_is_clamped_and_said() -> None:
    m = FixedMESULearner(layers=(6, 5, 3), seed=4)
    state = m.state_dict()
    w0 = state["arrays"]["mu_w0"].copy()
    w0[0, :3] = [32767, -32768, 5]
    state["arrays"]["mu_w0"] = w0
    v1 = _as_version(encode_state(state["kind"], state["meta"], state["arrays"]), 1)
    with pytest.warns(statefile.StateFormatWarning) as record:
        old = FixedMESULearner.from_bytes(v1)
    said = [str(w.message) for w in record]
    assert any("2 μ value" in m for m in said) and any("it is converted" in m for m in said)  # both, none leaks
    lim = old.plan.tables["mu_lim"][0]
    assert old.params()["w0"][0].shape == (6, 5) and lim < 32767
    assert old.int_params()["w0"][0][0, :3].tolist() == [lim, -lim, 5]


def test_format_1_float_state_loads_silently() -> None:
    m = MESULearner(layers=(6, 5, 3), seed=4)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert MESULearner.from_bytes(_as_version(m.to_bytes(), 1)).to_bytes() == m.to_bytes()
