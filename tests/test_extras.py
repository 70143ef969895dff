"""The core installs with numpy alone; each optional feature names the extra that installs it (issue 16).

The optional libraries are blocked in a child process (``sys.modules[name] = None`` makes their import fail
as if they were not installed); the CLI then does everything the core can, and each feature that needs an
extra exits 2 with ``pip install 'edge-mesu[EXTRA]'`` in its message.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
OPTIONAL = (
    "onnx",
    "onnxruntime",
    "flatbuffers",
    "tflite",
    "ai_edge_litert",
    "tflite_runtime",
    "tflite_micro",
    "matplotlib",
    "tqdm",
    "ray",
    "unicorn",
    "river",
    "sklearn",
)


def test_the_core_depends_on_numpy_only() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {r.split(";")[0].split(">")[0].split("=")[0].strip() for r in project["dependencies"]}
    assert names == {"numpy", "tomli"}
    extras = project["optional-dependencies"]
    assert {"onnx", "tflite", "tflm", "ray", "emu", "plot", "all", "test"} <= set(extras)
    assert "edge-mesu[all]" in extras["test"] and "matplotlib>=3.7" in extras["plot"]
    assert isinstance(project["license"], str)  # an SPDX expression, not the deprecated table


SCRIPT = """
import contextlib, io, json, sys
for name in {optional!r}:
    sys.modules[name] = None  # as if not installed
from edge_mesu_app.cli import main

def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as stop:
            code = stop.code
    return {{"code": code, "out": out.getvalue(), "err": err.getvalue()}}

t = {tmp!r}
results = {{
    "help": run("--help"),
    "demo": run("demo", "--windows", 200, "--out", t + "/d"),
    "info": run("info", t + "/d/state.emsu"),
    "simulate": run("simulate", "--state", t + "/d/state.emsu", "--device", "stm32l4", "--samples", 20),
    "c": run("export", "--state", t + "/d/state.emsu", "--c", t + "/c", "--c-no-emulate"),
    "onnx": run("export", "--state", t + "/d/state.emsu", "--onnx", t + "/m.onnx", "--c", t + "/c2"),
    "onnx_int8": run("export", "--state", t + "/d/state.emsu", "--onnx-int8", t + "/m.onnx"),
    "tflite": run("export", "--state", t + "/d/state.emsu", "--tflite", t + "/m.tflite"),
    "tflm": run("export", "--state", t + "/d/state.emsu", "--tflite", t + "/m.tflite", "--check", "tflm"),
    "plot": run("simulate", "--state", t + "/d/state.emsu", "--device", "stm32l4", "--plot", t + "/p.png"),
    "ray": run("fleet", "--devices", 2, "--samples", 40, "--backend", "ray"),
    "river": run("bench", "river", "--limit", 10),
}}
import export, firmware_sim, edge_mesu
try:
    export.to_onnx
except ImportError as exc:
    results["library"] = {{"code": 2, "out": "", "err": str(exc)}}
print(json.dumps(results))
"""


def test_without_the_extras_the_core_works_and_each_feature_names_its_extra(tmp_path: Path) -> None:
    code = SCRIPT.format(optional=OPTIONAL, tmp=str(tmp_path))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout.splitlines()[-1])
    assert r["help"]["code"] == 0 and "demo" in r["help"]["out"]
    assert r["demo"]["code"] == 0, r["demo"]
    demo = r["demo"]["out"]
    assert "export: skipped (ONNX export needs onnx, which is not installed: pip install 'edge-mesu[onnx]')" in demo
    assert "plot: not written (the demo's plot needs matplotlib" in demo and "edge-mesu[plot]" in demo
    assert "firmware: skipped (" in demo  # no unicorn (or no cross compiler): the demo says so and goes on
    assert (tmp_path / "d" / "state.emsu").exists() and not (tmp_path / "d" / "demo.png").exists()
    assert r["info"]["code"] == 0 and "SensorPipeline state" in r["info"]["out"]
    assert r["simulate"]["code"] == 0 and "OK, every budget holds" in r["simulate"]["out"]
    assert r["c"]["code"] == 0 and (tmp_path / "c" / "mesu_net.c").exists()
    for case, extra in (
        ("onnx", "onnx"),
        ("onnx_int8", "onnx"),
        ("tflite", "tflite"),
        ("tflm", "tflite"),  # the first missing one is named: --check tflm needs --tflite's extra too
        ("plot", "plot"),
        ("ray", "ray"),
        ("river", "river"),
        ("library", "onnx"),
    ):
        assert f"pip install 'edge-mesu[{extra}]'" in r[case]["err"], (case, r[case])
        assert r[case]["code"] == 2, (case, r[case])
        assert "Traceback" not in r[case]["err"]
    assert not (tmp_path / "m.onnx").exists() and not (tmp_path / "c2").exists()  # refused before any writing
    assert not (tmp_path / "m.tflite").exists() and not (tmp_path / "p.png").exists()


def test_check_tflm_names_its_extra(tmp_path: Path, monkeypatch, capsys) -> None:
    from edge_mesu import FixedMESULearner
    from edge_mesu_app.cli import main

    FixedMESULearner((4, 3, 2), seed=0).save(tmp_path / "s.emsu")
    for name in ["tflite_micro", *(n for n in list(sys.modules) if n.startswith("tflite_micro."))]:
        monkeypatch.setitem(sys.modules, name, None)  # submodules too: an import finds them before the package
    argv = ["export", "--state", str(tmp_path / "s.emsu"), "--tflite", str(tmp_path / "m.tflite"), "--check", "tflm"]
    assert main(argv) == 2
    assert "pip install 'edge-mesu[tflm]'" in capsys.readouterr().err and not (tmp_path / "m.tflite").exists()
