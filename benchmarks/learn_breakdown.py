"""Where the emulated Cortex-M4's learn_one instructions go, by category (issue 18's "breakdown by category").

Runs the generated C of one network (784-50-10, no biases, by default) on the emulated core of
:mod:`firmware_sim.emulate`, counts the instructions of ``emu_learn`` (``net_learn_one``) executed at every
instruction address, gives each address the C statement it was compiled from, and sums the statements by
category, for both learn paths (``sampling="lrt"`` and ``sampling="weights"``). Prints, side by side,
instructions per parameter and the share of each category, then the 15 statements that execute the most
instructions on each path (with their category, to check the mapping by eye)::

    python benchmarks/learn_breakdown.py --json benchmarks/results/learn_breakdown.json
    python benchmarks/learn_breakdown.py --cpu cortex-m0plus --json benchmarks/results/learn_breakdown_m0plus.json

How an instruction gets its statement
-------------------------------------
gcc attributes the code of a macro to the line where the macro is *used*, so the library's statement macros
(``EMSU_MU_STEP_O``: prior pull, μ step, its stochastic rounding and both clips, all on one line) would each
be one line of ``net.c``. So the measured build compiles ``net.c`` *preprocessed*: ``gcc -E`` expands every
macro, the expanded text is split into one statement per line (at ``;``, ``{`` and ``}`` outside
parentheses; line markers dropped; each statement remembers the ``net.c`` line it came from) and this file
is compiled with ``-g`` and the same flags. Line breaks and debug information change no code: the script
checks that the ``.text`` section is byte-identical to :func:`firmware_sim.emulate.build_firmware`'s build
and that each learn call's count equals :func:`~firmware_sim.emulate.emulate`'s (which also checks the
emulated state bit for bit against the Python learner; this script checks it too). Per address counts come
from a basic-block hook (every instruction of a block runs as often as the block, IT-skipped ones
included, as the emulator counts them); ``arm-none-eabi-addr2line`` gives each address its innermost line,
so the code of an inlined function (``hash32k``, ``code_step``, ``shl_sat``) is on that function's lines.

How a statement gets its category (:func:`classify`, first rule that applies)
-----------------------------------------------------------------------------
1. No line (``??``): the harness (``emu_learn``) and libgcc's 64-bit division (``__aeabi_ldivmod`` of
   ``div_round_even64``, one per output of the LRT path) -> ``row``.
2. By the function the statement is in: ``hash32``/``hash32k`` -> ``draws``; ``asr64``, ``shl64``,
   ``round_even``, ``shift_or_even``, ``lrt_shift`` -> ``shift64``; ``code_step``: its statement with the
   draw (``da``) -> ``sround``, the rest -> ``sigma``; ``count``, ``count_flags``, ``saturate``, ``finish_acc``,
   ``shl_sat``, ``outside_opaque`` -> ``clip``.
3. Outside the per-parameter loops -> ``row``: a per-parameter loop is a ``for (j ...)`` loop of
   ``update_row``/``update_row_lrt``, or of ``dense_sampled``/``dense_lrt`` nested in their ``for (i ...)``
   and reading ``mu[j...]`` (found by brace matching on the preprocessed source).
4. In those loops, by the statement's expanded text (and the ``net.c`` line's text for the macro uses):
   the loop header -> ``loop``; the Weyl counters (``ca +=``, ``cb +=``, ``ctr +=``), the draw calls and
   the ε table lookup ``eps = ..._gauss[...]`` -> ``draws``; statements of the ``*_MU_STEP*`` line: with
   ``(db)`` or the shift tests ``s >= ...``/``s = 31`` -> ``sround``, with ``bound``/``mu_lim``/
   ``flags |=``/``__builtin_expect`` -> ``clip``, the rest (pull, ``(d - g) var14``, ``s = mu_p - tau``,
   ``m += d``) -> ``mu``; statements of the ``*_CODE_STEP`` line: ``c += code_step(...)`` -> ``sigma``, the
   code range test and clamp -> ``clip``; the σ step's clip of ``u`` -> ``clip``; the σ step (``ge``,
   ``sigl13``, ``ssh``, ``pk``, ``h = (a2 ...``, the shift of ``x``) -> ``sigma``; ``bk +=``/``tk +=``
   and their ``if (back ...)`` -> ``back``; ``acc32[j]`` multiply-adds -> ``fwd``; ``var32[j]`` -> ``fwd_var``;
   loads of ``mu[j]``/``code[j]``, the table row ``&tab[c]``, the stores ``mu[j] =``/``code[j] =`` and
   ``g = (a d16 + half) >> t`` -> ``ldst``; anything else in a loop -> ``other`` (shown, so a statement the
   rules miss is visible).

Limits: a statement mixing two kinds of work is counted whole in one category: on the weight-sampling path
the forward statement ``acc32[j] += ai * (mu + round(sig16 eps))`` holds the ε table lookup and the weight
sample as well as the multiply-add (``fwd``), and ``bk += (mu + round(sig16 eps)) d16`` its own sample
(``back``); ``ldst`` holds only the loads and stores that have a statement of their own (a load folded into
an arithmetic statement counts with that statement, e.g. ``tc->var14`` in ``mu``); the compiler moves and
merges code across statements (scheduling, shared address arithmetic, loop rotation), and its line table
gives each instruction one of the statements it serves. So categories are approximate at the level of a few
instructions per parameter; the totals are exact. The issue's 64-bit-shift bucket (``shift64``) only finds
the per-row/per-output helpers today: no per-parameter statement uses 64-bit arithmetic.

Needs ``arm-none-eabi-gcc`` (with ``addr2line``, ``objcopy``) and ``unicorn``; exits 0 with a message otherwise.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from edge_mesu.statefile import atomic_write_bytes
from firmware_sim import emulate as E

CATEGORIES: dict[str, str] = {
    "draws": "PRNG draws (hash32, Weyl counters, ε table)",
    "shift64": "64-bit shift / round helpers",
    "clip": "saturate / clip / count",
    "sigma": "σ-code step (σ step, code step)",
    "ldst": "loads/stores of μ, code, table row; a·δ",
    "mu": "μ step (pull, (pull−g)·var14, m += d)",
    "sround": "stochastic rounding (μ and code)",
    "fwd": "forward multiply-add a·w (weights: + sample)",
    "fwd_var": "forward variance multiply-add a²·σ² (LRT)",
    "back": "backward Σ w·δ (LRT: + Σ σ²·u)",
    "loop": "per-parameter loop control",
    "other": "other statements in the per-parameter loops",
    "row": "per row / output / step (normalise, softmax, isqrt, ÷, ...)",
}
N_STATEMENTS = 60  # statements kept in the JSON per learn path (the most instructions first)
FN_CATEGORY = {
    "hash32": "draws",
    "hash32k": "draws",
    "asr64": "shift64",
    "shl64": "shift64",
    "round_even": "shift64",
    "shift_or_even": "shift64",
    "lrt_shift": "shift64",
    "count": "clip",
    "count_flags": "clip",
    "saturate": "clip",
    "finish_acc": "clip",
    "shl_sat": "clip",
    "outside_opaque": "clip",
}


# ---- the preprocessed source, one statement a line ------------------------------------------------------
def split_statements(pre: str) -> list[tuple[str, int, str]]:
    """``gcc -E`` output -> statements (file, line, text): split at ``;``, ``{``, ``}`` outside parentheses.

    Line markers are read (each statement keeps the file and line where it starts) and dropped; other
    directives (``#pragma``) stay, each on its own line."""
    out: list[tuple[str, int, str]] = []
    fname, line = "?", 0
    buf: list[str] = []
    start: tuple[str, int] | None = None
    depth = 0

    def flush() -> None:
        nonlocal buf, start
        text = "".join(buf).strip()
        if text and start is not None:
            out.append((start[0], start[1], " ".join(text.split())))
        buf, start = [], None

    for raw in pre.split("\n"):
        marker = re.match(r'#\s*(\d+)\s+"([^"]*)"', raw)
        if marker:
            line, fname = int(marker.group(1)), marker.group(2)
            continue
        if raw.startswith("#"):
            flush()
            out.append((fname, line, raw))
            line += 1
            continue
        k, n = 0, len(raw)
        while k < n:
            ch = raw[k]
            if start is None and not ch.isspace():
                start = (fname, line)
            if ch in "\"'":  # a literal: copied whole
                end = k + 1
                while end < n and raw[end] != ch:
                    end += 2 if raw[end] == "\\" else 1
                buf.append(raw[k : end + 1])
                k = end + 1
                continue
            if depth == 0 and ch == "}":  # a closing brace is a statement of its own
                flush()
                start = (fname, line)
            buf.append(ch)
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            elif depth == 0 and ch in ";{}":
                flush()
            k += 1
        buf.append(" ")
        line += 1
    flush()
    return out


def loop_structure(stmts: list[tuple[str, int, str]]) -> tuple[list[str], list[bool]]:
    """Per statement: the function it is in ("" at file scope) and whether it is in a per-parameter loop
    (or is such a loop's header); brace matching on the expanded statements (no preprocessor branches left)."""
    fn_of: list[str] = []
    opener: list[tuple[int, str]] = []  # (statement index, header text) of each open brace
    pending = ""
    fn = ""
    body: dict[int, list[int]] = {}  # for-j header index -> statement indices of its body (and itself)
    nested: dict[int, tuple[bool, bool]] = {}  # for-j header index -> (in a for-i loop, in another for-j loop)
    enclosing: list[list[int]] = []
    for idx, (_f, _l, text) in enumerate(stmts):
        if text.startswith("#"):
            fn_of.append(fn)
            enclosing.append([])
            continue
        if text.endswith("{"):
            header = (pending + " " + text).strip()
            if not opener:
                names = [m for m in re.findall(r"(\w+)\s*\(", header) if m != "__attribute__"]
                fn = names[0] if names and "=" not in header else ""
            if re.match(r"for \(j\b", header):
                nested[idx] = (
                    any(re.match(r"for \(i\b", h) for _, h in opener),
                    any(re.match(r"for \(j\b", h) for _, h in opener),
                )
            opener.append((idx, header))
            pending = ""
        elif text == "}":
            if opener:
                opener.pop()
            if not opener:
                fn = ""
            pending = ""
        elif text.endswith(";"):
            pending = ""
        else:
            pending += " " + text
        fn_of.append(fn)
        loops = [i for i, _h in opener if i in nested]
        enclosing.append(loops)
        for i in loops:
            body.setdefault(i, []).append(idx)
    param_loops: set[int] = set()
    for i, members in body.items():
        in_i, in_j = nested[i]
        if fn_of[i] in ("update_row", "update_row_lrt"):
            param_loops.add(i)
        elif fn_of[i] in ("dense_sampled", "dense_lrt") and in_i and not in_j:
            if any("mu[j" in stmts[k][2] for k in members):
                param_loops.add(i)
    in_loop = [bool(set(enclosing[k]) & param_loops) for k in range(len(stmts))]
    return fn_of, in_loop


def classify(fn: str, in_loop: bool, src: str, stmt: str) -> str:
    """The category of one statement (the rules of the module docstring): ``fn`` its function, ``in_loop``
    whether it is in a per-parameter loop, ``src`` the text of its ``net.c`` line, ``stmt`` its expanded text."""
    if fn in FN_CATEGORY:
        return FN_CATEGORY[fn]
    if fn == "code_step":
        return "sround" if re.search(r"\bda\b", stmt) else "sigma"
    if not in_loop:
        return "row"
    if re.match(r"for \(j\b", stmt):
        return "loop"
    if re.match(r"(ca|cb|ctr) \+=", stmt) or re.search(r"\bd[ab] = hash32", stmt):
        return "draws"
    if re.match(r"(int32_t )?eps = .*gauss\[", stmt):
        return "draws"
    if "_MU_STEP" in src:
        if "(db)" in stmt or re.match(r"(else )?if \(s >=|if \(\(L\)->mu_sh_max|s = 31;", stmt):
            return "sround"
        if re.search(r"bound|mu_lim|flags \|=|__builtin_expect|outside_opaque|shl_sat", stmt):
            return "clip"
        return "mu"
    if "_CODE_STEP" in src:
        return "sigma" if "code_step" in stmt else "clip"
    if re.search(r"\(uint32_t\)\(u\)|u = u > 0|flags \|=|__builtin_expect|outside_opaque", stmt):
        return "clip"
    if re.search(r"\b(bk|tk) \+=|back != ", stmt):
        return "back"
    if re.search(r"\bge = |sigl13|->ssh|->pk|h = \(a2|u -= |if \(s >= 0\)|^else", stmt):
        return "sigma"
    if "acc32[j]" in stmt:
        return "fwd"
    if "var32[j]" in stmt:
        return "fwd_var"
    if re.search(r"= mu\[j\]|= code\[j\]|&tab\[c\]|^mu\[j\] =|^code\[j\] =|^g = ", stmt):
        return "ldst"
    return "other"


# ---- build, run, attribute ----------------------------------------------------------------------------------
def _run(cmd: list[str], cwd: Path) -> str:
    return E._run(cmd, cwd)


def _text_bytes(elf: Path) -> bytes:
    out = elf.with_suffix(".text.bin")
    _run(["arm-none-eabi-objcopy", "-O", "binary", "--only-section=.text", str(elf), str(out)], elf.parent)
    return out.read_bytes()


def build_split(learner: Any, workdir: Path, cpu: str) -> tuple[Path, list[tuple[str, int, str]], str]:
    """Build the reference firmware (emulate's), then the same from the split preprocessed net.c with -g;
    (ELF with debug lines, its statements, compiler version). Raises if the two .text sections differ."""
    ref, _, _ = E.build_firmware(learner, workdir, cpu, False)
    flags = [f for f in E.CORES[cpu][0] if f != "-Werror"]  # expanded system macros may warn: no code change
    pre = _run(["arm-none-eabi-gcc", *flags, "-E", "net.c"], workdir)
    stmts = split_statements(pre)
    (workdir / "net_split.c").write_text("\n".join(t for _f, _l, t in stmts) + "\n", encoding="utf-8")
    _run(["arm-none-eabi-gcc", *flags, "-g", "-c", "net_split.c", "-o", "net_split.o"], workdir)
    link = ["-nostdlib", "-T", "link.ld", "startup.o", "harness.o", "net_split.o", "-lgcc", "-o", "fw_g.elf"]
    _run(["arm-none-eabi-gcc", *flags, *link], workdir)
    elf = workdir / "fw_g.elf"
    if _text_bytes(elf) != _text_bytes(ref):
        raise RuntimeError("the split, -g build's .text differs from build_firmware's: counts would not apply")
    compiler = _run(["arm-none-eabi-gcc", "--version"], workdir).splitlines()[0]
    return elf, stmts, compiler


def _thumb_addresses(code: bytes, base: int) -> list[int]:
    """The instruction addresses of a Thumb-2 block (E._thumb_count's decoding)."""
    out, pos = [], 0
    while pos + 1 < len(code):
        out.append(base + pos)
        pos += 4 if code[pos + 1] >> 3 in (0b11101, 0b11110, 0b11111) else 2
    return out


def run_learn(
    elf: Path, learner: Any, cpu: str, steps: int, seed: int
) -> tuple[Counter[int], list[int], bool, np.ndarray, np.ndarray]:
    """``steps`` predict + learn_one calls as :func:`firmware_sim.emulate.emulate` makes them (same inputs);
    (executed instructions per address summed over the learn calls, instructions per learn call, bit-exact,
    X, y)."""
    import unicorn

    twin = type(learner).from_bytes(learner.to_bytes())
    rng = np.random.default_rng(seed)
    n_in, n_out = twin.layers[0], twin.layers[-1]
    X = np.clip(rng.standard_normal((steps, n_in)) * 0.8, -3.9, 3.9)
    y = rng.integers(0, n_out, steps)
    m = E._Machine(elf, "block", cpu)
    hits: Counter[tuple[int, int]] = Counter()
    m.uc.hook_add(unicorn.UC_HOOK_BLOCK, lambda _uc, a, s, _u: hits.update(((a, s),)))
    per_call, exact = [], E._same_state(m, twin)
    per_addr: Counter[int] = Counter()
    for k in range(steps):
        m.write("emu_x", twin.quantize(X[k])[0])
        m.call("emu_predict")
        m.write("emu_y", np.array([y[k]], dtype="<i4"))
        hits.clear()
        _, n = m.call("emu_learn")
        per_call.append(n)
        for (addr, size), times in hits.items():
            for a in _thumb_addresses(bytes(m.uc.mem_read(addr, size)), addr):
                per_addr[a] += times
        twin.learn_one(X[k], int(y[k]))
        exact &= E._same_state(m, twin)
    if sum(per_addr.values()) != sum(per_call):
        raise AssertionError("per-address counts do not sum to the emulator's totals")
    return per_addr, per_call, exact, X, y


def addr_lines(elf: Path, addrs: list[int]) -> dict[int, int]:
    """Address -> line of net_split.c (0: no line, e.g. the harness or libgcc)."""
    out = _run(["arm-none-eabi-addr2line", "-e", str(elf), "-a", *(f"{a:#x}" for a in addrs)], elf.parent)
    rows = out.splitlines()
    res: dict[int, int] = {}
    for k in range(0, len(rows), 2):
        loc = rows[k + 1].split(" (")[0]
        fname, _, ln = loc.rpartition(":")
        res[int(rows[k], 16)] = int(ln) if fname.endswith("net_split.c") and ln.isdigit() else 0
    return res


def measure(layers: tuple[int, ...], sampling: str, cpu: str, steps: int, seed: int) -> dict[str, Any]:
    from edge_mesu.fixed import FixedMESULearner

    learner = FixedMESULearner(layers, bias=False, seed=seed, sampling=sampling)
    n_params = learner.n_params()
    with tempfile.TemporaryDirectory(prefix="learn_breakdown_") as tmp:
        elf, stmts, compiler = build_split(learner, Path(tmp), cpu)
        per_addr, per_call, exact, X, y = run_learn(elf, learner, cpu, steps, seed)
        lines = addr_lines(elf, sorted(per_addr))
        net_c = (Path(tmp) / "net.c").read_text(encoding="utf-8").splitlines()
    ref = E.emulate(learner, steps=steps, X=X, y=y, seed=seed, cpu=cpu)
    if ref.learn_instructions != per_call:
        raise AssertionError(f"learn counts {per_call} != emulate()'s {ref.learn_instructions}")
    fn_of, in_loop = loop_structure(stmts)
    by_line: Counter[int] = Counter()
    for a, c in per_addr.items():
        by_line[lines[a]] += c
    cats: Counter[str] = Counter()
    top = []
    for ln, c in by_line.items():
        if ln == 0:
            cat, fn, src_line, stmt = "row", "??", 0, "(no line: harness, libgcc)"
        else:
            f, src_line, stmt = stmts[ln - 1]
            fn = fn_of[ln - 1]
            src = net_c[src_line - 1] if f == "net.c" and 0 < src_line <= len(net_c) else ""
            cat = classify(fn, in_loop[ln - 1], src, stmt)
        cats[cat] += c
        top.append((c, cat, fn, src_line, stmt, in_loop[ln - 1] if ln else False))
    total = sum(per_call)
    if sum(cats.values()) != total:
        raise AssertionError("categories do not sum to the emulator's total")
    top.sort(key=lambda t: -t[0])
    return {
        "sampling": sampling,
        "layers": list(layers),
        "n_params": n_params,
        "cpu": cpu,
        "compiler": compiler,
        "flags": list(E.CORES[cpu][0]),
        "learn_instructions": per_call,
        "learn_mean": total / steps,
        "learn_per_param": total / steps / n_params,
        "bit_exact": bool(exact and ref.bit_exact),
        "emulate_cross_check": ref.learn_instructions,
        "categories": {
            k: {
                "instructions": cats[k] / steps,
                "per_param": cats[k] / steps / n_params,
                "percent": 100.0 * cats[k] / total,
            }
            for k in CATEGORIES
        },
        "statements": [
            {
                "instructions": c / steps,
                "per_param": c / steps / n_params,
                "percent": 100.0 * c / total,
                "category": cat,
                "function": fn,
                "net_c_line": src_line,
                "in_param_loop": loop,
                "statement": stmt,
            }
            for c, cat, fn, src_line, stmt, loop in top[:N_STATEMENTS]
        ],
    }


def format_tables(results: list[dict[str, Any]], n_top: int = 15) -> str:
    head = f"{'category':<60s}" + "".join(f"{r['sampling'] + ' /param':>16s}{'%':>7s}" for r in results)
    rows = [
        f"learn_one on the emulated {results[0]['cpu']}, {'-'.join(map(str, results[0]['layers']))} "
        f"({results[0]['n_params']:,} parameters), mean of {len(results[0]['learn_instructions'])} calls",
        head,
        "-" * len(head),
    ]
    for k, label in CATEGORIES.items():
        cells = "".join(
            f"{r['categories'][k]['per_param']:16.2f}{r['categories'][k]['percent']:6.1f}%" for r in results
        )
        rows.append(f"{label:<60s}{cells}")
    rows.append("-" * len(head))
    rows.append(f"{'total':<60s}" + "".join(f"{r['learn_per_param']:16.2f}{100.0:6.1f}%" for r in results))
    rows.append(f"{'instructions per call':<60s}" + "".join(f"{r['learn_mean']:16,.0f}{'':7s}" for r in results))
    rows.append(
        f"{'bit-exact (and = emulate()):':<60s}" + "".join(f"{str(r['bit_exact']):>16s}{'':7s}" for r in results)
    )
    for r in results:
        rows += ["", f"top {n_top} statements, sampling={r['sampling']} (net.c line: expanded statement)"]
        rows.append(f"{'/param':>7s} {'%':>5s} {'category':<8s} {'function':<15s} {'line':>5s}  statement")
        for s in r["statements"][:n_top]:
            text = s["statement"] if len(s["statement"]) <= 90 else s["statement"][:87] + "..."
            rows.append(
                f"{s['per_param']:7.2f} {s['percent']:5.1f} {s['category']:<8s} {s['function']:<15s} "
                f"{s['net_c_line']:5d}  {text}"
            )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--layers", default="784-50-10", help="network (default 784-50-10; no biases)")
    p.add_argument("--cpu", default="cortex-m4", choices=tuple(E.CORES), help="emulated core (default cortex-m4)")
    p.add_argument("--steps", type=int, default=2, help="predict + learn_one calls (default 2; learn counted)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--top", type=int, default=15, help="statements listed per learn path (default 15)")
    p.add_argument("--json", default=None, metavar="OUT.json")
    args = p.parse_args(argv)
    reason = E.emulator_available()
    if reason is not None:
        print(f"skipped: {reason}")
        return 0
    layers = tuple(int(v) for v in args.layers.split("-"))
    results = [measure(layers, s, args.cpu, args.steps, args.seed) for s in ("lrt", "weights")]
    print(format_tables(results, args.top))
    if args.json:
        payload = {
            "benchmark": "learn_breakdown",
            "categories": CATEGORIES,
            "method": "per-address counts of emu_learn (basic-block hook), addr2line on the preprocessed net.c split "
            "one statement a line (-g; .text identical to build_firmware's), statements classified by "
            "benchmarks/learn_breakdown.py's classify (see its docstring)",
            "measured": ["learn_instructions", "categories", "statements", "bit_exact"],
            "statements": f"the {N_STATEMENTS} statements executing the most instructions per learn path",
            "results": results,
        }
        atomic_write_bytes(args.json, (json.dumps(payload, indent=1) + "\n").encode())
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
