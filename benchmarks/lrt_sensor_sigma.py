"""σ of the float learner after the hapt domain-incremental stream, weight sampling against LRT (one seed).

Prints, per parameter array, the geometric mean of σ, its 10th percentile and the share of σ at the sensor
preset's cap (docs/results.md, "Local reparameterisation").

Example::

    python benchmarks/lrt_sensor_sigma.py --data ../shared/data/sensors --seed 0
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np

from edge_mesu_app.bench.sensors import make_learner, run_sensor_bench


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="the sensor data pack")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    kept: dict[str, Any] = {}

    def factory(name: str) -> Any:
        def make(n_in: int, k: int, seed: int) -> Any:
            kept[name] = make_learner(name, n_in, k, seed)
            return kept[name]

        return make

    run_sensor_bench(a.data, ["hapt"], ["domain"], {n: factory(n) for n in ("mesu", "mesu-lrt")}, [a.seed], None)
    for name, m in kept.items():
        cap = m.config.sigma_max
        for pname, (_, s) in m.params().items():
            at_cap = float((s >= 0.999 * cap).mean()) if cap else 0.0
            print(
                f"{name:9s} {pname}: geometric mean σ {np.exp(np.log(s).mean()):.4f}, p10 "
                f"{np.percentile(s, 10):.4f}, at the cap {100 * at_cap:.1f} % (after {m.step} updates)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
