"""TensorFlow Lite Micro itself: bit-exact int8 against the reference's "tflm" variant, measured
differences from LiteRT, the measured arena (kept in the artefact) and firmware_sim's estimate of it.

Tests that run TFLM skip, naming the missing package, when tflite-micro is not installed (the ``tflm``
extra installs it; CI does).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

import export
import firmware_sim as fs
from export._testing import gaussian_task, trained_learner
from export.int8_reference import RUNTIME_VARIANTS, run_reference
from export.runtime import RuntimeUnavailableError, run_tflite
from export.tflite_export import model_to_plan
from export.tflm import (
    ArenaMeasurement,
    compare_runtimes,
    measure_arena,
    read_arena,
    run_tflm,
    write_arena_metadata,
)
from export.tflm_arena import _Probes
from export.validate import validate_tflite
from firmware_sim.memory import tflm_arena_estimate

try:
    from tflite_micro.python.tflite_micro import runtime as _tflm_runtime  # noqa: F401

    HAVE_TFLM = True
except ImportError:
    HAVE_TFLM = False
needs_tflm = pytest.mark.skipif(
    not HAVE_TFLM, reason="tflite-micro is not installed: pip install 'edge-mesu[tflm]' to run the TFLM tests"
)
N_CHECK = 2000  # inputs compared bit for bit (>= 1,000 asked): half in-distribution, half raw int8


def _learner(name: str) -> object:
    """The shipped examples: the paper's 784-50-10 (no biases) and the demo's 96-32-5 (trained biases)."""
    from edge_mesu import MESULearner

    if name == "784-50-10":
        return MESULearner(layers=(784, 50, 10), bias=False, seed=0)
    return trained_learner(layers=(96, 32, 5))


@pytest.fixture(scope="module", params=["784-50-10", "96-32-5"])
def net(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict:
    learner = _learner(request.param)
    n_in = learner.layers[0]
    rng = np.random.default_rng(7)
    path = tmp_path_factory.mktemp(request.param) / "model.tflite"
    report = export.to_tflite_int8(learner, path, calibration=rng.normal(size=(300, n_in)))
    plan = model_to_plan(validate_tflite(path))
    X, _ = gaussian_task(N_CHECK // 2, n_in, learner.layers[-1], seed=8)
    x_q = np.concatenate([plan.quantize_input(X), rng.integers(-128, 128, size=(N_CHECK // 2, n_in)).astype(np.int8)])
    return {"name": request.param, "learner": learner, "path": path, "report": report, "plan": plan, "x_q": x_q}


@pytest.fixture(scope="module")
def arena(net: dict) -> ArenaMeasurement:
    if not HAVE_TFLM:
        pytest.skip("tflite-micro is not installed: pip install 'edge-mesu[tflm]'")
    return measure_arena(net["path"])


@needs_tflm
def test_tflm_is_bit_exact_with_its_reference_variant(net: dict) -> None:
    got = run_tflm(net["path"], net["x_q"])
    ref = run_reference(net["plan"], net["x_q"], *RUNTIME_VARIANTS["tflm"])
    assert len(net["x_q"]) >= 1000
    assert np.array_equal(got["logits"], ref.logits), f"{np.sum(np.any(got['logits'] != ref.logits, 1))} rows"
    assert np.array_equal(got["probs"], ref.probs)
    assert np.array_equal(run_tflite(net["path"], net["x_q"], resolver="tflm")["probs"], got["probs"])


@needs_tflm
def test_tflm_hidden_layer_is_bit_exact(net: dict) -> None:
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(
        net["path"].read_bytes(), arena_size=1 << 16, intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors
    )
    hidden = next(i for i, t in enumerate(validate_tflite(net["path"]).subgraphs[0].tensors) if t.name == "dense0/relu")
    ref = run_reference(net["plan"], net["x_q"][:200], *RUNTIME_VARIANTS["tflm"])
    for row, want in zip(net["x_q"][:200], ref.layers[0], strict=True):
        interp.set_input(row[None, :], 0)
        interp.invoke()
        assert np.array_equal(interp.GetTensor(hidden, 0)["tensor_data"][0], want)


@needs_tflm
def test_tflm_differs_from_litert_and_the_difference_is_reported(net: dict) -> None:
    cmp = compare_runtimes(net["path"], net["x_q"])
    assert cmp.rows == N_CHECK and cmp.reference.exact
    for resolver in ("auto", "builtin", "reference"):
        d = cmp.litert[resolver]
        assert d.rows_differ > 0 and d.max_lsb_logits == 1, (resolver, d)  # double vs single rounding
        assert f"{d.rows_differ}/{N_CHECK} rows differ" in cmp.details()[f"litert {resolver}"]
    for wrong in ("single", "double_up", "fp32"):  # the measurement discriminates between roundings
        ref = run_reference(net["plan"], net["x_q"], wrong, "gemmlowp")
        assert not np.array_equal(run_tflm(net["path"], net["x_q"])["logits"], ref.logits)


@needs_tflm
def test_export_report_runs_tflm(net: dict) -> None:
    details = net["report"].details
    assert details["reference_check"]["tflm"] == "300/300 rows bit-exact (double/gemmlowp)"
    assert set(details["tflm_vs_litert"]) == {"auto", "builtin", "reference"}
    assert all("300" in v for v in details["tflm_vs_litert"].values())


def test_without_tflite_micro_one_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "tflite_micro", None)
    monkeypatch.setitem(sys.modules, "tflite_micro.python.tflite_micro", None)
    learner = trained_learner()
    rep = export.to_tflite_int8(learner, tmp_path / "m.tflite", calibration=gaussian_task(50)[0])
    assert rep.details["reference_check"]["tflm"].startswith("not run (tflite-micro is not installed")
    assert rep.details["reference_check"]["reference"] == "50/50 rows bit-exact (single/gemmlowp)"
    with pytest.raises(RuntimeUnavailableError, match=r"pip install 'edge-mesu\[tflm\]'"):
        run_tflm(rep.path, np.zeros((1, 16), np.int8))
    with pytest.raises(RuntimeUnavailableError, match="tflite-micro"):
        measure_arena(rep.path)


@needs_tflm
def test_tflm_itself_runs_malformed_files_so_we_refuse_them_first(tmp_path: Path) -> None:
    """Why validation exists: raw TFLM answers every malformed file; validate_tflite refuses each."""
    import subprocess

    from test_export_validate import MALFORMED, StubLearner, plan_to_model

    from export.tflm_arena import _PROBE

    rng = np.random.default_rng(5)
    learner = StubLearner([rng.normal(size=(6, 5)), rng.normal(size=(5, 3))], [rng.normal(size=5), rng.normal(size=3)])
    model = plan_to_model(export.quantize_mlp(learner.mean_params(), rng.normal(size=(40, 6))))
    procs = {}
    for case, (build, _) in MALFORMED.items():
        path = tmp_path / f"{case.replace(' ', '_')}.tflite"
        path.write_bytes(build(model))
        with pytest.raises(ValueError, match="malformed TFLite artefact"):
            validate_tflite(path)
        procs[case] = subprocess.Popen(
            [sys.executable, str(_PROBE), str(path), "65536"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
    for case, proc in procs.items():
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0 and '"ok": true' in out, case  # TFLM: no complaint


# -- arena ---------------------------------------------------------------------------------------------
@needs_tflm
def test_measured_arena(net: dict, arena: ArenaMeasurement) -> None:
    assert arena.total == arena.head + arena.tail > 0
    assert set(arena.categories) >= {"TfLiteEvalTensor data", "NodeAndRegistration struct"}
    assert arena.categories["NodeAndRegistration struct"] > 0
    assert arena.smallest is not None and arena.required == arena.smallest
    with _Probes(net["path"], timeout=60) as probes:  # the search's answer, checked directly
        assert probes.run(arena.smallest)["ok"] and not probes.run(arena.smallest - 1)["ok"]


@needs_tflm
def test_estimate_within_25_percent_of_measurement(net: dict, arena: ArenaMeasurement) -> None:
    est = tflm_arena_estimate(net["plan"].sizes)
    assert est.head == arena.head  # the same greedy plan of int8 tensors, 16-byte aligned
    assert abs(est.tail / arena.tail - 1) <= 0.25
    assert abs(est.required / arena.smallest - 1) <= 0.25
    assert abs(est.required / arena.total - 1) <= 0.25


@needs_tflm
def test_a_crashing_probe_does_not_kill_us(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "m.tflite"
    export.to_tflite_int8(trained_learner(), path, calibration=gaussian_task(50)[0], validate=False)
    with _Probes(path, timeout=60) as probes:
        crash = probes.run(64)  # far too small: TFLM's allocator segfaults
    assert crash["ok"] is False and "signal" in crash["error"]
    monkeypatch.delattr(os, "fork")  # the portable path: one interpreter process per probe
    with _Probes(path, timeout=60) as probes:
        assert probes.server is None
        assert probes.run(64)["ok"] is False and probes.run(1 << 16)["ok"] is True


@needs_tflm
def test_arena_metadata_round_trip(net: dict, arena: ArenaMeasurement, tmp_path: Path) -> None:
    path = tmp_path / "m.tflite"
    path.write_bytes(net["path"].read_bytes())
    assert read_arena(path) is None
    write_arena_metadata(path, arena)
    write_arena_metadata(path, arena)  # rewriting replaces the entry
    assert read_arena(path) == arena and list(export.read_metadata(path)) == ["edge_mesu.tflm_arena"]
    x_q = net["x_q"][:300]
    assert np.array_equal(run_tflm(path, x_q)["logits"], run_tflm(net["path"], x_q)["logits"])
    assert np.array_equal(run_tflite(path, x_q)["logits"], run_tflite(net["path"], x_q)["logits"])
    again = measure_arena(path)  # metadata is not in the arena
    assert (again.total, again.head, again.tail, again.smallest) == (
        arena.total,
        arena.head,
        arena.tail,
        arena.smallest,
    )
    from edge_mesu_app.arena import arena_summary

    summary = arena_summary(path)
    assert f"TFLM arena {arena.total:,} B" in summary and "simulator estimate" in summary


@needs_tflm
def test_memory_map_shows_estimate_and_measurement(net: dict, arena: ArenaMeasurement) -> None:
    learner, device = net["learner"], fs.load_device("stm32l4")
    est = tflm_arena_estimate(learner.layers)
    m = fs.memory_map(learner, device, "infer", tflm_arena=arena)
    assert m.tflm["estimated"]["required"] == est.required
    assert m.tflm["measured"]["smallest"] == arena.smallest
    assert m.ram["arena"] == max(est.required, arena.smallest)  # the budget uses the larger
    bigger = fs.memory_map(learner, device, "infer", tflm_arena=est.required + 1000)
    assert bigger.ram["arena"] == est.required + 1000 and bigger.tflm["budgeted"] == "measured"
    assert fs.memory_map(learner, device, "infer").tflm["measured"] is None
    with pytest.raises(ValueError, match="mode='infer'"):
        fs.memory_map(learner, device, "learn", tflm_arena=arena)
    report = fs.simulate(
        learner, device, (np.zeros((3, learner.layers[0])), None), rate_hz=1.0, mode="infer", tflm_arena=arena.to_dict()
    )
    assert "measured" in report.format_table()
    assert report.memory_plan["tflm"]["measured"]["total"] == arena.total


@needs_tflm
def test_cli_check_tflm_and_simulate_tflite(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import argparse

    from edge_mesu_app.export_cmd import add_commands as export_commands
    from edge_mesu_app.simulate_cmd import add_commands as simulate_commands

    parser = argparse.ArgumentParser(prog="edge-mesu")
    sub = parser.add_subparsers(dest="command")
    export_commands(sub)
    simulate_commands(sub)
    state, model = tmp_path / "s.emsu", tmp_path / "m.tflite"
    trained_learner(layers=(96, 32, 5)).save(state)

    def run(*argv: str) -> int:
        args = parser.parse_args(list(argv))
        return args.func(args)

    assert run("export", "--state", str(state), "--check", "tflm") == 2
    assert "--check tflm needs --tflite" in capsys.readouterr().err
    assert (
        run("export", "--state", str(state), "--tflite", str(model), "--check", "tflm", "--calibration-samples", "200")
        == 0
    )
    out = capsys.readouterr().out
    assert "TFLM vs reference (tflm variant): 1200/1200 rows bit-exact" in out
    assert "TFLM vs litert reference:" in out and "smallest arena that runs" in out
    stored = read_arena(model)
    assert stored is not None and stored.smallest is not None
    assert (
        run(
            "simulate",
            "--state",
            str(state),
            "--device",
            "stm32l4",
            "--rate",
            "10",
            "--samples",
            "5",
            "--mode",
            "infer",
            "--tflite",
            str(model),
        )
        == 0
    )
    assert f"measured {stored.smallest:,} B" in capsys.readouterr().out
    assert (
        run(
            "simulate",
            "--state",
            str(state),
            "--device",
            "stm32l4",
            "--rate",
            "10",
            "--samples",
            "5",
            "--tflite",
            str(model),
        )
        == 2
    )
    assert "--tflite needs --mode infer" in capsys.readouterr().err


def test_the_pin_in_messages_is_the_packaging_pin() -> None:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    from export.tflm import TFLM_REQUIREMENT

    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    extras = tomllib.loads(pyproject.read_text())["project"].get("optional-dependencies", {})
    if "tflm" not in extras:
        pytest.skip("pyproject.toml has no 'tflm' extra yet")

    def resolved(extra: str) -> set[str]:  # an extra's requirements, through "edge-mesu[...]" self-references
        out: set[str] = set()
        for req in extras[extra]:
            name = req.split(";")[0].strip()
            if name.startswith("edge-mesu["):
                for inner in name[len("edge-mesu[") : -1].split(","):
                    out |= resolved(inner.strip())
            else:
                out.add(name)
        return out

    for extra in ("tflm", "all", "test"):
        assert TFLM_REQUIREMENT in resolved(extra), extra
