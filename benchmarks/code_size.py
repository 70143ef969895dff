"""Code and table bytes of the device library, compiled for a Cortex-M4, by part: what
``firmware_sim.memory.CODE_BYTES`` is fitted to.

Each configuration (network x front end) is written as a library (:func:`edge_mesu.device.package.write_library`)
and every source is compiled with the emulator's flags (``arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -O2``);
``arm-none-eabi-nm`` then splits each object into code (functions, ``T``/``t``) and read-only data (``r``/``R``:
the generated tables, the factory front-end state, CRC nibble tables). The table prints the code bytes of each
part beside what the model gives, and the whole library's flash and RAM measured vs modelled.

    python benchmarks/code_size.py --json benchmarks/results/code_size.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from edge_mesu.device.package import pipeline_sources, write_library
from edge_mesu.frontend import FrontEndSpec
from edge_mesu.pipeline import SensorPipeline
from firmware_sim.device import load_device
from firmware_sim.emulate import ARM_FLAGS
from firmware_sim.memory import memory_map

#: (name, layers' hidden widths, front end keyword arguments)
CONFIGS: list[tuple[str, tuple[int, ...], dict[str, Any]]] = [
    ("demo 12-32-5, features", (32,), {"channels": 3, "window": 32, "decimate": 2, "features": True}),
    ("raw 3x32/4 -> 24-32-5", (32,), {"channels": 3, "window": 32, "decimate": 4}),
    ("96-32-5 raw", (32,), {"channels": 3, "window": 32}),
    ("12-16-16-5, features", (16, 16), {"channels": 3, "window": 64, "decimate": 4, "features": True}),
    ("6ch 24-64-8, features", (64,), {"channels": 6, "window": 50, "hop": 25, "features": True}),
]
PARTS = {"emsu_net": "learner", "emsu_fe": "frontend", "emsu_dev": "runtime", "emsu_slots": "slots"}
PARTS["emsu_flash_ram"] = "flash_hal"


def _symbols(obj: Path) -> tuple[int, int, int]:
    """(code, read-only data, writable data) bytes of an object, from its symbols."""
    out = subprocess.run(["arm-none-eabi-nm", "-S", str(obj)], capture_output=True, text=True, check=True).stdout
    code = ro = rw = 0
    for line in out.splitlines():
        f = line.split()
        if len(f) != 4:
            continue
        size, kind = int(f[1], 16), f[2]
        if kind in "Tt":
            code += size
        elif kind in "Rr":
            ro += size
        elif kind in "DdBb":
            rw += size
    return code, ro, rw


def measure(hidden: tuple[int, ...], fe: dict[str, Any], classes: int = 5) -> dict[str, Any]:
    spec = FrontEndSpec(**fe)
    pipe = SensorPipeline.create(spec, [f"c{i}" for i in range(classes)], hidden=hidden, seed=0)
    sources, fe_state = pipeline_sources(pipe)
    with tempfile.TemporaryDirectory(prefix="edge_mesu_codesize_") as tmp:
        root = Path(tmp) / "lib"
        write_library(root, sources, name="emsu_dev", frontend_state=fe_state)
        src = root / "src"
        parts: dict[str, dict[str, int]] = {}
        for c in sorted(src.glob("*.c")):
            obj = src / f"{c.stem}.o"
            subprocess.run(["arm-none-eabi-gcc", *ARM_FLAGS, "-c", c.name, "-o", obj.name], cwd=src, check=True)
            code, ro, rw = _symbols(obj)
            parts[PARTS.get(c.stem, c.stem)] = {"code": code, "rodata": ro, "data": rw}
    model = memory_map(pipe, load_device("stm32l4"), "learn")
    flash = {k: v for k, v in model.flash.items() if k != "state_image"}
    return {
        "layers": list(pipe.learner.layers),
        "frontend": fe,
        "parts": parts,
        "measured_flash": sum(p["code"] + p["rodata"] + p["data"] for p in parts.values()),
        "modelled": {k: v for k, v in flash.items()},
        "modelled_flash": sum(flash.values()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    rows = {}
    print(
        f"{'configuration':28s} {'learner':>8s} {'frontend':>8s} {'runtime':>8s} {'slots':>6s} {'hal':>5s}"
        f" {'flash meas.':>11s} {'modelled':>9s} {'ratio':>6s}"
    )
    for name, hidden, fe in CONFIGS:
        r = measure(hidden, fe)
        rows[name] = r
        p = r["parts"]
        print(
            f"{name:28s} {p['learner']['code']:8d} {p['frontend']['code']:8d} {p['runtime']['code']:8d}"
            f" {p['slots']['code']:6d} {p['flash_hal']['code']:5d} {r['measured_flash']:11,d}"
            f" {r['modelled_flash']:9,d} {r['modelled_flash'] / r['measured_flash']:6.3f}"
        )
    codes = {part: [r["parts"][part]["code"] for r in rows.values()] for part in PARTS.values()}
    print("code bytes by part (min / median / max):")
    for part, v in codes.items():
        print(f"  {part:10s} {min(v):6d} {int(np.median(v)):6d} {max(v):6d}")
    if args.json:
        Path(args.json).write_text(json.dumps({"flags": list(ARM_FLAGS), "configs": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
