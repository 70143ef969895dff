"""learn_one / predict_one per second of 784-50-10 learners, medians of repeated runs in one process.

Example::

    python benchmarks/throughput.py --learners mesu,fixed,sgd --json benchmarks/results/throughput.json
"""

from __future__ import annotations

import sys

from edge_mesu_app.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "throughput", *sys.argv[1:]]))
