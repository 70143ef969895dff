"""Write one self-contained C99 device library folder from generated sources: CMake, PlatformIO, Arduino, Zephyr.

Give :func:`write_library` the generated C as ``name → text`` — the learner's
(``edge_mesu.fixed.cgen.generate_c(...).files``), the front end's
(:func:`edge_mesu.frontend.cgen.generate_frontend_c`) — and it adds the crash-safe slots
(``emsu_slots.c``, the RAM-backed HAL), a device loop with one public header, and the build files::

    <out>/
      src/<name>.h              the one public header: boot, push a raw sample, save (+ the parts' headers)
      src/<name>.c              the device loop: front end -> predict, uncertainty -> learn if labelled -> save
      src/<name>_learner.h      the ONE file that names the learner's generated API (adapt it when that changes)
      src/<net>.c/.h, <net>_model.h, <fe>.c/.h, emsu_slots.c/.h, emsu_flash_ram.c/.h   (generated / shipped C)
      examples/host/main.c      stdin (host) or a C array (-DEXAMPLE_USE_ARRAY, cross builds): the device loop
      examples/host/example_data.h
      CMakeLists.txt            static library target <name>; the example when built on its own
      cmake/arm-none-eabi.cmake toolchain file for a Cortex-M4 cross build
      library.json              PlatformIO
      library.properties        Arduino (src/ layout)
      zephyr/module.yml, zephyr/CMakeLists.txt, zephyr/Kconfig   a Zephyr module (CONFIG_<NAME>=y)
      README.md

Build (``tests/test_device_package.py`` runs these)::

    cmake -S <out> -B build && cmake --build build && ./build/<name>_example flash.bin < samples.txt
    cmake -S <out> -B build-arm -DCMAKE_TOOLCHAIN_FILE=<out>/cmake/arm-none-eabi.cmake && cmake --build build-arm
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..frontend.cgen import c_identifier
from .csources import slots_sources

__all__ = [
    "NOVELTY_THRESHOLD_BITS",
    "UNCERTAINTY_WINDOWS",
    "LibraryReport",
    "combined_config_hash",
    "detect_prefixes",
    "novelty_q16",
    "pipeline_sources",
    "write_library",
]

#: The default novelty threshold of the device's flag, MI >= 1/8 bit (8192 in Q16): on the demo's stream (k = 8)
#: about the 90th percentile of the known classes' MI (10 % of their windows flagged) and above the MI of 8 of
#: the new class's first 10 windows (docs/device.md, "Uncertainty on the device").
NOVELTY_THRESHOLD_BITS = 0.125
#: Which windows the device scores (``SensorPipeline.process``'s ``uncertainty`` modes it can run): every
#: window, or only those without a label (a labelled window is learned; its MI decides nothing).
UNCERTAINTY_WINDOWS = ("all", "unlabelled")

_TEMPLATES = {
    "template_runtime.h": "src/{lib}.h",
    "template_runtime.c": "src/{lib}.c",
    "template_learner_glue.h": "src/{lib}_learner.h",
    "template_example_main.c": "examples/host/main.c",
}


@dataclass(frozen=True)
class LibraryReport:
    """What :func:`write_library` wrote: the folder, its files (relative paths), the parts' C prefixes, the
    bytes of one saved state and the slots' configuration hash (``None`` when the headers do not say)."""

    root: Path
    name: str
    files: tuple[str, ...]
    learner: str
    frontend: str
    state_bytes: int | None
    config_hash: int | None
    slot_pages: int | None
    page_bytes: int
    prog_unit: int
    uncertainty_samples: int = 0
    novelty_q16: int = 0
    uncertainty_windows: str = "all"


def novelty_q16(bits: float) -> int:
    """A novelty threshold in bits as the device's Q16 integer (round half to even);
    ``ValueError`` unless it is a finite number in [0, 16) bits."""
    from ..fixed.entropy import ENTROPY_FRAC

    try:
        value = float(bits)
    except (TypeError, ValueError):
        raise ValueError(f"novelty threshold must be a number of bits, got {bits!r}") from None
    if not 0.0 <= value < 16.0:
        raise ValueError(f"novelty threshold must be in [0, 16) bits, got {bits!r}")
    return int(round(value * (1 << ENTROPY_FRAC)))


def _check_uncertainty_samples(k: object) -> int:
    from ..fixed.entropy import check_samples

    if isinstance(k, (int, np.integer)) and not isinstance(k, bool) and int(k) == 0:
        return 0
    try:
        return check_samples(k)
    except ValueError:
        raise ValueError(f"uncertainty_samples must be 0 (no uncertainty step) or in [2, 32], got {k!r}") from None


def pipeline_sources(pipe: Any, learner: str = "emsu_net", frontend: str = "emsu_fe") -> tuple[dict[str, str], bytes]:
    """The generated C of a sensor pipeline's learner and front end (``name → text``, for
    :func:`write_library`) and its front end's saved state (``frontend_state=``: the factory state).

    ``ValueError`` when the learner is not fixed point or the front end has no C form.
    """
    from ..fixed.cgen import generate_c
    from ..frontend.cblob import frontend_blob
    from ..frontend.cgen import generate_frontend_c

    n_classes = int(pipe.learner.n_classes)
    sources = {
        **generate_c(pipe.learner, name=learner).files,
        **generate_frontend_c(pipe.spec, name=frontend, n_classes=n_classes).files,
    }
    return sources, frontend_blob(pipe.frontend, n_classes)


def combined_config_hash(learner_hash: int, frontend_hash: int) -> int:
    """The slots' configuration hash of a library (``NAME_CONFIG_HASH`` in its header).

    >>> hex(combined_config_hash(1, 0))
    '0x1'
    """
    return (learner_hash ^ ((frontend_hash * 0x9E3779B1) & 0xFFFFFFFF)) & 0xFFFFFFFF


def _macro(text: str, name: str) -> int | None:
    m = re.search(rf"#define\s+{re.escape(name)}\s+(?:U?INT\d+_C\()?\(?(\d+)", text)
    return int(m.group(1)) if m else None


def detect_prefixes(sources: Mapping[str, str]) -> tuple[str, str]:
    """``(learner, front end)`` C prefixes: the headers declaring ``<p>_learn_one`` and ``<p>_push_block``."""
    learner = [n[:-2] for n, t in sources.items() if n.endswith(".h") and re.search(rf"\b{n[:-2]}_learn_one\s*\(", t)]
    fe = [n[:-2] for n, t in sources.items() if n.endswith(".h") and re.search(rf"\b{n[:-2]}_push_block\s*\(", t)]
    if len(learner) != 1 or len(fe) != 1:
        raise ValueError(
            f"need exactly one learner header (declaring <name>_learn_one) and one front-end header (declaring "
            f"<name>_push_block) among {sorted(sources)}; found {learner} and {fe}: pass learner= and frontend="
        )
    return learner[0], fe[0]


def _fill(text: str, tokens: Mapping[str, str]) -> str:
    for key, value in tokens.items():
        text = text.replace(f"@{key}@", value)
    left = re.findall(r"@[A-Z_]+@", text)
    if left:
        raise AssertionError(f"unfilled template tokens {sorted(set(left))}")
    return text


def _example_data(samples: np.ndarray, labels: np.ndarray, fe: str) -> str:
    rows = ",\n    ".join("{" + ", ".join(str(int(v)) for v in row) + "}" for row in samples)
    labs = ", ".join(str(int(v)) for v in labels)
    return (
        "/* example_data.h -- raw int16 samples and their labels (-1: none) for the array build of main.c. */\n"
        f"#define EXAMPLE_N_SAMPLES {len(samples)}u\n"
        f"static const int16_t example_samples[{len(samples)}][{fe.upper()}_CHANNELS] = {{\n    {rows}\n}};\n"
        f"static const int32_t example_labels[{len(samples)}] = {{{labs}}};\n"
    )


def _default_example(channels: int, n: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """A deterministic two-class signal: a slow and a fast triangle wave, switching every 64 samples."""
    t = np.arange(n)
    fast = (t // 64) % 2 == 1
    period = np.where(fast, 8, 32)
    tri = np.abs((t % period) - period // 2) * (4000 // period)
    samples = np.stack([tri * (c + 1) - 1000 * c for c in range(channels)], axis=1).astype(np.int16)
    return samples, fast.astype(np.int32)


def _cmake(lib: str) -> str:
    up = lib.upper()
    return f"""# Generated by edge-mesu (edge_mesu/device/package.py). A static C99 library, no dependencies.
cmake_minimum_required(VERSION 3.13)
project({lib} LANGUAGES C)

set(CMAKE_C_STANDARD 99)
set(CMAKE_C_STANDARD_REQUIRED ON)
set(CMAKE_C_EXTENSIONS OFF)

option({up}_WERROR "Treat compiler warnings as errors" ON)
if(CMAKE_SOURCE_DIR STREQUAL CMAKE_CURRENT_SOURCE_DIR)
  set({up}_TOP ON)
else()
  set({up}_TOP OFF)
endif()
option({up}_BUILD_EXAMPLES "Build examples/host" ${{{up}_TOP}})

file(GLOB {up}_SOURCES CONFIGURE_DEPENDS "${{CMAKE_CURRENT_SOURCE_DIR}}/src/*.c")
add_library({lib} STATIC ${{{up}_SOURCES}})
target_include_directories({lib} PUBLIC "${{CMAKE_CURRENT_SOURCE_DIR}}/src")

set({up}_WARNINGS "")
if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
  set({up}_WARNINGS -Wall -Wextra)
  if({up}_WERROR)
    list(APPEND {up}_WARNINGS -Werror)
  endif()
endif()
target_compile_options({lib} PRIVATE ${{{up}_WARNINGS}})

if({up}_BUILD_EXAMPLES)
  add_executable({lib}_example examples/host/main.c)
  target_link_libraries({lib}_example PRIVATE {lib})
  target_compile_options({lib}_example PRIVATE ${{{up}_WARNINGS}})
  target_include_directories({lib}_example PRIVATE "${{CMAKE_CURRENT_SOURCE_DIR}}/examples/host")
  if(CMAKE_CROSSCOMPILING)
    target_compile_definitions({lib}_example PRIVATE EXAMPLE_USE_ARRAY)
  endif()
endif()
"""


_TOOLCHAIN = """# Cortex-M4 cross build with the GNU Arm Embedded toolchain (arm-none-eabi-gcc):
#   cmake -S . -B build-arm -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake && cmake --build build-arm
# The example links against newlib's nosys stubs: it builds, it is not a board port (no startup file).
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
set(CMAKE_C_FLAGS_INIT "-mcpu=cortex-m4 -mthumb -ffunction-sections -fdata-sections")
set(CMAKE_EXE_LINKER_FLAGS_INIT "--specs=nosys.specs -Wl,--gc-sections")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
"""


def _zephyr(lib: str) -> dict[str, str]:
    up = lib.upper()
    return {
        "zephyr/module.yml": f"name: {lib}\nbuild:\n  cmake: zephyr\n  kconfig: zephyr/Kconfig\n",
        "zephyr/CMakeLists.txt": (
            f"# Zephyr module build of {lib} (enable with CONFIG_{up}=y).\n"
            f"if(CONFIG_{up})\n"
            f"  zephyr_library_named({lib})\n"
            f'  file(GLOB {up}_SOURCES "${{CMAKE_CURRENT_LIST_DIR}}/../src/*.c")\n'
            f"  zephyr_library_sources(${{{up}_SOURCES}})\n"
            f'  zephyr_include_directories("${{CMAKE_CURRENT_LIST_DIR}}/../src")\n'
            "endif()\n"
        ),
        "zephyr/Kconfig": (
            f"config {up}\n"
            f'\tbool "{lib}: on-device MESU learning (edge-mesu)"\n'
            "\thelp\n"
            "\t  Integer sensor front end, fixed-point MESU learner and crash-safe A/B\n"
            "\t  state slots in flash, generated by edge-mesu. The firmware supplies the\n"
            "\t  three flash HAL functions (emsu_slots.h).\n"
        ),
    }


def _factory_header(lib: str, frontend_state: bytes | None) -> str:
    """``<lib>_factory.h``: the front end's factory state, or none (the factory state resets the front end)."""
    up = lib.upper()
    head = (
        f"/* {lib}_factory.h -- the front end's factory state (generated by edge-mesu, device/package.py). */\n"
        f"#ifndef {up}_FACTORY_H\n#define {up}_FACTORY_H\n\n#include <stdint.h>\n\n"
    )
    if not frontend_state:
        return head + f"/* none: the factory state resets the front end */\n#define {up}_FACTORY_FE_BYTES 0\n\n#endif\n"
    rows = [", ".join(str(b) for b in frontend_state[i : i + 20]) for i in range(0, len(frontend_state), 20)]
    body = ",\n    ".join(rows)
    return (
        head
        + "/* the exported pipeline's front end (running normaliser, partial window, counters) */\n"
        + f"#define {up}_FACTORY_FE_BYTES {len(frontend_state)}\n"
        + f"static const uint8_t {lib}_factory_fe[{up}_FACTORY_FE_BYTES] = {{\n    {body}\n}};\n\n#endif\n"
    )


def _readme(lib: str, net: str, fe: str, page: int, unit: int) -> str:
    return f"""# {lib}

Generated by edge-mesu (`edge_mesu/device/package.py`): an integer sensor front end (`{fe}`), a fixed-point
MESU learner (`{net}`) and crash-safe A/B state slots in flash (`emsu_slots`), joined by one device loop.
C99, no dynamic allocation, no floating point.

```c
#include "{lib}.h"
static {lib}_t dev;
/* hal: your flash's erase_page / program / read, page size and program unit (see emsu_slots.h) */
{lib}_boot(&dev, &hal, FLASH_OFFSET, {lib}_slot_pages(PAGE_BYTES, PROG_UNIT), 100);  /* save every 100 steps */
for (;;) {{ {lib}_result_t r; if ({lib}_push(&dev, sample, label, &r)) {{ /* r.pred, r.p_q15, r.mi_q16, r.novel */ }} }}
```

The slots take `2 * {lib}_slot_pages(...)` pages at `FLASH_OFFSET` (page aligned) that nothing else may use.
`src/{lib}_learner.h` is the only file that names the learner's generated API.

## Build
- CMake (host, warnings as errors): `cmake -S . -B build && cmake --build build`, then
  `./build/{lib}_example flash.bin < samples.txt` (one sample per line: channels then a label, -1 for none;
  the example's flash has {page}-byte pages and a {unit}-byte program unit; run it again to resume).
- Cortex-M4: `cmake -S . -B build-arm -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake && cmake --build build-arm`.
- PlatformIO: `library.json`; Arduino: `library.properties` (`#include <{lib}.h>`); Zephyr: add this folder
  to `ZEPHYR_EXTRA_MODULES` and set `CONFIG_{lib.upper()}=y`.
"""


def write_library(
    out_dir: str | os.PathLike,
    sources: Mapping[str, str],
    *,
    name: str = "edge_mesu_device",
    learner: str | None = None,
    frontend: str | None = None,
    version: str = "0.1.0",
    page_bytes: int = 2048,
    prog_unit: int = 8,
    save_every: int = 100,
    example_samples: np.ndarray | None = None,
    example_labels: np.ndarray | None = None,
    frontend_state: bytes | None = None,
    overwrite: bool = False,
    uncertainty_samples: int = 8,
    novelty_threshold: float = NOVELTY_THRESHOLD_BITS,
    uncertainty_windows: str = "all",
) -> LibraryReport:
    """Write the library folder ``out_dir`` (module docstring) from generated ``sources``; returns a report.

    ``learner`` / ``frontend`` are the parts' C prefixes (detected from the headers when not given);
    ``page_bytes`` / ``prog_unit`` the example's flash geometry (STM32L4: 2048 / 8); ``save_every`` the
    example's learning steps between saves; ``example_samples`` ``(n, channels)`` int16 and
    ``example_labels`` ``(n,)`` the data of the array build (default: a generated two-class signal).
    ``frontend_state``: the front end's saved state (:func:`edge_mesu.frontend.cblob.frontend_blob`) the
    factory state starts from — a pipeline's running normaliser and partial window — instead of a reset.
    ``uncertainty_samples``: weight samples of the per-window mutual information (0: no uncertainty step;
    else 2..32; a pipeline's is ``pipe.uncertainty_samples``); ``novelty_threshold``: the novelty flag's
    threshold in bits (:data:`NOVELTY_THRESHOLD_BITS`), stored as a Q16 integer (:func:`novelty_q16`);
    ``uncertainty_windows``: ``"all"`` windows scored, or ``"unlabelled"`` ones only (:data:`UNCERTAINTY_WINDOWS`).
    Raises ``ValueError`` for a non-empty ``out_dir`` (unless ``overwrite``), a name clash or missing parts.
    """
    lib = c_identifier(name)
    k = _check_uncertainty_samples(uncertainty_samples)
    novelty = novelty_q16(novelty_threshold)
    if uncertainty_windows not in UNCERTAINTY_WINDOWS:
        raise ValueError(f"uncertainty_windows must be one of {UNCERTAINTY_WINDOWS}, got {uncertainty_windows!r}")
    net, fe = detect_prefixes(sources) if learner is None or frontend is None else (learner, frontend)
    net, fe = learner or net, frontend or fe
    for part, files in ((net, (f"{net}.h", f"{net}.c")), (fe, (f"{fe}.h", f"{fe}.c"))):
        missing = [f for f in files if f not in sources]
        if missing:
            raise ValueError(f"sources lack {missing} of {part!r}")
    if len({lib, net, fe, "emsu_slots", "emsu_flash_ram"}) != 5:
        raise ValueError(f"library {lib!r}, learner {net!r} and front end {fe!r} need distinct names")
    root = Path(out_dir)
    if root.exists() and any(root.iterdir()) and not overwrite:
        raise ValueError(f"{root} exists and is not empty (pass overwrite=True)")
    srcs = {**slots_sources(ram_hal=True), **dict(sources)}
    reserved = {f"{lib}.h", f"{lib}.c", f"{lib}_learner.h", f"{lib}_factory.h"}
    clash = sorted(reserved & set(sources))
    if clash:
        raise ValueError(f"sources {clash} clash with the library's own files; choose another name")
    tokens = {
        "LIB": lib,
        "LIBU": lib.upper(),
        "NET": net,
        "NETU": net.upper(),
        "FE": fe,
        "FEU": fe.upper(),
        "PAGE": str(page_bytes),
        "UNIT": str(prog_unit),
        "SAVE_EVERY": str(save_every),
        "UNC_SAMPLES": str(k),
        "NOVELTY_Q16": str(novelty),
        "UNC_UNLABELLED": "1" if uncertainty_windows == "unlabelled" else "0",
        "NOVELTY_BITS": f"{novelty / 65536:.6g}",
    }
    folder = resources.files("edge_mesu.device") / "csrc"
    out: dict[str, str] = {f"src/{n}": t for n, t in srcs.items()}
    for template, target in _TEMPLATES.items():
        out[target.format(lib=lib)] = _fill((folder / template).read_text(encoding="utf-8"), tokens)
    fe_text = sources[f"{fe}.h"]
    channels = _macro(fe_text, f"{fe.upper()}_CHANNELS")
    if channels is None:
        raise ValueError(f"{fe}.h does not define {fe.upper()}_CHANNELS: not a front-end header")
    if example_samples is None:
        samples, labels = _default_example(channels)
    else:
        samples = np.asarray(example_samples).reshape(-1, channels)
        labels = np.full(len(samples), -1) if example_labels is None else np.asarray(example_labels)
    out["examples/host/example_data.h"] = _example_data(samples, labels, fe)
    fe_bytes = _macro(fe_text, f"{fe.upper()}_STATE_BYTES")
    if frontend_state is not None and len(frontend_state) != fe_bytes:
        raise ValueError(f"frontend_state holds {len(frontend_state)} bytes; {fe}.h's state is {fe_bytes} bytes")
    out[f"src/{lib}_factory.h"] = _factory_header(lib, frontend_state)
    out["CMakeLists.txt"] = _cmake(lib)
    out["cmake/arm-none-eabi.cmake"] = _TOOLCHAIN
    out.update(_zephyr(lib))
    out["library.json"] = (
        json.dumps(
            {
                "name": lib,
                "version": version,
                "description": "On-device MESU learning: integer sensor front end, fixed-point learner, "
                "crash-safe flash state (generated by edge-mesu)",
                "keywords": ["machine-learning", "continual-learning", "fixed-point", "sensor"],
                "license": "Apache-2.0",
                "frameworks": "*",
                "platforms": "*",
                "headers": f"{lib}.h",
                "build": {"srcDir": "src", "includeDir": "src"},
                "export": {"exclude": ["build*", "examples/host/*.bin"]},
            },
            indent=2,
        )
        + "\n"
    )
    out["library.properties"] = (
        f"name={lib}\nversion={version}\nauthor=edge-mesu\nmaintainer=edge-mesu\n"
        "sentence=On-device MESU learning: integer sensor front end, fixed-point learner, crash-safe flash state.\n"
        "paragraph=Generated by edge-mesu. C99, no dynamic allocation, no floating point; "
        "the sketch supplies the flash HAL (emsu_slots.h).\n"
        "category=Data Processing\nurl=https://github.com/edge-mesu/edge-mesu\narchitectures=*\n"
        f"includes={lib}.h\n"
    )
    learner_h = sources[f"{net}.h"]
    state = [_macro(learner_h, f"{net.upper()}_STATE_BYTES"), _macro(fe_text, f"{fe.upper()}_STATE_BYTES")]
    hashes = [_macro(learner_h, f"{net.upper()}_CONFIG_HASH"), _macro(fe_text, f"{fe.upper()}_CONFIG_HASH")]
    state_bytes = state[0] + state[1] if state[0] is not None and state[1] is not None else None
    chash = combined_config_hash(hashes[0], hashes[1]) if hashes[0] is not None and hashes[1] is not None else None
    slot_pages = -(-(max(32, prog_unit) + state_bytes) // page_bytes) if state_bytes is not None else None
    out["README.md"] = _readme(lib, net, fe, page_bytes, prog_unit)
    for rel, text in out.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return LibraryReport(
        root=root,
        name=lib,
        files=tuple(sorted(out)),
        learner=net,
        frontend=fe,
        state_bytes=state_bytes,
        config_hash=chash,
        slot_pages=slot_pages,
        page_bytes=page_bytes,
        prog_unit=prog_unit,
        uncertainty_samples=k,
        novelty_q16=novelty,
        uncertainty_windows=uncertainty_windows,
    )
