"""The layering of docs/architecture.md, checked on every import statement (function-local ones too).

    edge_mesu_app                 the CLI, demo, benchmarks, sweeps, fleet simulations
       │            │
    export      firmware_sim      read what the core exposes; never import each other
       │            │
    edge_mesu                     the core: learners, rule, fixed point, front end, data, state files

An arrow may only point down. Inside each package the import graph has no cycles, counting the imports
written inside functions (a cycle "held together by function-local imports" is still a cycle).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("edge_mesu", "edge_mesu_app", "export", "firmware_sim")
ALLOWED = {  # package -> the project packages it may import
    "edge_mesu": {"edge_mesu"},
    "export": {"export", "edge_mesu"},
    "firmware_sim": {"firmware_sim", "edge_mesu"},
    "edge_mesu_app": {"edge_mesu_app", "edge_mesu", "export", "firmware_sim"},
}
# optional libraries the core may import only inside functions; the one exception are the adapters of
# edge_mesu.compat (edge_mesu.compat.river *is* the river integration), which nothing else in the core imports
ADAPTERS = "edge_mesu.compat"
OPTIONAL_ONLY_LAZY = {
    "onnx",
    "onnxruntime",
    "ray",
    "matplotlib",
    "unicorn",
    "tflite_micro",
    "ai_edge_litert",
    "river",
    "sklearn",
    "tqdm",
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """``(absolute module, line, at module level)`` of every import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    me = _module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    top_level = {id(n) for n in tree.body}
    for node in tree.body:  # imports under a top-level `if`/`try` still run at import time
        if isinstance(node, (ast.If, ast.Try)):
            top_level.update(id(n) for n in ast.walk(node))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno, id(node) in top_level) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if node.module is None or node.level:  # "from . import x": x may be a submodule
                out += [(f"{mod}.{a.name}", node.lineno, id(node) in top_level) for a in node.names]
            out.append((mod, node.lineno, id(node) in top_level))
    return out


def _sources() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def _project_modules() -> set[str]:
    return {_module_name(p) for p in _sources()}


def test_imports_point_down_only():
    wrong = []
    for path in _sources():
        me = _module_name(path).split(".")[0]
        for mod, line, _ in _imports(path):
            top = mod.split(".")[0]
            if top in PACKAGES and top not in ALLOWED[me]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {mod} ({me} may import {sorted(ALLOWED[me])})")
    assert not wrong, "imports that point the wrong way:\n" + "\n".join(wrong)


def test_core_imports_optional_libraries_only_lazily():
    eager = []
    for path in _sources():
        me = _module_name(path)
        if me.split(".")[0] != "edge_mesu":
            continue
        adapter = me.startswith(ADAPTERS + ".")  # edge_mesu.compat.river etc.; not the package's __init__
        for mod, line, module_level in _imports(path):
            if module_level and mod.split(".")[0] in OPTIONAL_ONLY_LAZY and not adapter:
                eager.append(f"{path.relative_to(ROOT)}:{line} imports {mod} at module level")
            if mod.startswith(ADAPTERS) and not me.startswith(ADAPTERS):
                eager.append(f"{path.relative_to(ROOT)}:{line} imports the adapters ({mod})")
    assert not eager, "\n".join(eager)


def _graph() -> dict[str, set[str]]:
    known = _project_modules()
    graph: dict[str, set[str]] = {m: set() for m in known}
    for path in _sources():
        me = _module_name(path)
        for mod, _, _ in _imports(path):
            # an import of a.b.c names a.b.c if it is a module, else its package a.b
            while mod and mod not in known:
                mod = mod.rpartition(".")[0]
            if mod and mod != me and not me.startswith(mod + "."):  # a package's own __init__ is no edge
                graph[me].add(mod)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    graph = _graph()
    # a package's __init__ re-exporting its submodules is not a cycle with them
    for m in graph:
        graph[m] = {d for d in graph[m] if not (m.startswith(d + ".") or d.startswith(m + "."))}
    cycles = _cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_checker_sees_a_wrong_way_import(tmp_path):
    """The test above can fail: a core module importing firmware_sim is reported."""
    bad = ROOT / "edge_mesu" / "_layering_probe.py"
    bad.write_text("def f():\n    from firmware_sim import load_device\n    return load_device\n")
    try:
        with pytest.raises(AssertionError, match="_layering_probe.py:2 imports firmware_sim"):
            test_imports_point_down_only()
    finally:
        bad.unlink()


def test_export_to_c_imports_without_onnx():
    """``import export`` and ``export.to_c`` work where onnx, onnxruntime and flatbuffers are missing."""
    code = (
        "import sys\n"
        "for name in ('onnx', 'onnxruntime', 'flatbuffers', 'tflite'):\n"
        "    sys.modules[name] = None  # any import of them now raises ImportError\n"
        "import export\n"
        "from edge_mesu import FixedMESULearner\n"
        "import tempfile\n"
        "d = tempfile.mkdtemp()\n"
        "rep = export.to_c(FixedMESULearner((4, 3, 2), seed=0), d, name='tiny')\n"
        "print(sorted(p.rsplit('/', 1)[-1] for p in rep.details['files']))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "tiny.c" in out.stdout
