"""Does the front end's running normaliser cost memory? hapt through front ends that adapt differently.

Front ends: the running normaliser with time constants 2**tau_log2 decimated samples, one frozen after a
warm-up of ``--freeze-after`` raw samples, and a "static" one (the whole stream's mean and variance,
frozen from the start: the fixed-feature-vector reference, an oracle no device has). Learners: fixed MESU
(sensor preset) and SGD at the rates given. Retention is measured through the final front end (what the
device would see if an early subject came back) and, as ``retention_emitted``, on the vectors the front end
emitted at the time (what the learner was taught).

    python benchmarks/sensor_frontend.py --data ../shared/data/sensors --json benchmarks/results/sensor_frontend.json
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import sys
import time
from typing import Any

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from sensor_ablation import load_streams  # noqa: E402

from edge_mesu.statefile import atomic_write_bytes  # noqa: E402
from edge_mesu_app.bench.sensor_streams import default_frontend  # noqa: E402
from edge_mesu_app.bench.sensors import _clean, _summary, make_learner, run_learner  # noqa: E402


def frontends(freeze_after: int) -> dict[str, dict[str, Any]]:
    base = default_frontend()
    out: dict[str, dict[str, Any]] = {}
    for tau in (12, 14, 16, 18):
        out[f"running tau={tau}"] = {"spec": dataclasses.replace(base, tau_log2=tau)}
    out[f"frozen after {freeze_after}"] = {"freeze_after": freeze_after}
    out["static (oracle)"] = {"static": True}
    return out


def _make(name: str, preset: str, n_in: int, k: int, s: int) -> Any:
    return make_learner(name, n_in, k, s, preset=preset)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True)
    p.add_argument("--protocols", default="domain,drift")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--learners", default="fixed,sgd@0.01,sgd@0.03")
    p.add_argument("--preset", default="sensor")
    p.add_argument("--freeze-after", type=int, default=40_000, help="raw samples (40,000 = 13 min at 50 Hz)")
    p.add_argument("--only", default=None, help="comma list of front-end names to run")
    p.add_argument("--stream-cache", default=None)
    p.add_argument("--json", default=None)
    a = p.parse_args(argv)
    seeds = [int(s) for s in a.seeds.split(",")]
    cells = [("hapt", pr) for pr in a.protocols.split(",")]
    res: dict[str, Any] = {}
    fes = frontends(a.freeze_after)
    if a.only:
        fes = {k: v for k, v in fes.items() if k in a.only.split(",")}
    for fe_name, opts in fes.items():
        streams = load_streams(a.data, cells, seeds, a.stream_cache, opts)
        for _, prot in cells:
            for lname in a.learners.split(","):
                runs = []
                for seed in seeds:
                    t = time.time()
                    fac = functools.partial(_make, lname, a.preset)
                    runs.append(run_learner(streams[("hapt", prot, seed)], fac, seed))
                    r = runs[-1]
                    print(
                        f"{fe_name:22s} {prot:6s} s{seed} {lname:10s} preq {r['prequential']:.3f} "
                        f"ret {r['retention']:.3f} emitted {r['retention_emitted']:.3f} ({time.time() - t:.0f}s)",
                        file=sys.stderr,
                        flush=True,
                    )
                res.setdefault(fe_name, {}).setdefault(prot, {})[lname] = _summary(runs)
        if a.json:
            atomic_write_bytes(
                a.json,
                json.dumps(
                    _clean(
                        {
                            "frontends": {k: str(v) for k, v in fes.items()},
                            "results": res,
                            "seeds": seeds,
                            "preset": a.preset,
                        }
                    ),
                    indent=1,
                ).encode(),
            )
    lines = [
        "| front end | protocol | learner | prequential | retention (final front end) | retention (as emitted) |",
        "|---|---|---|---|---|---|",
    ]
    for fe_name, prots in res.items():
        for prot, ls in prots.items():
            for lname, d in ls.items():
                lines.append(
                    f"| {fe_name} | {prot} | {lname} | {100 * d['prequential']:.1f} ± "
                    f"{100 * d['prequential_std']:.1f} | {100 * d['retention']:.1f} ± "
                    f"{100 * d['retention_std']:.1f} | {100 * d['retention_emitted']:.1f} ± "
                    f"{100 * d['retention_emitted_std']:.1f} |"
                )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
