"""Permuted-MNIST continual-learning benchmark (same as ``edge-mesu bench pmnist``).

Example::

    python benchmarks/pmnist.py --data ../shared/data/mnist --tasks 10 --learners mesu,fixed,fixed-nearest,sgd \
        --jobs 2 --json benchmarks/results/pmnist.json
"""

from __future__ import annotations

import sys

from edge_mesu_app.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "pmnist", *sys.argv[1:]]))
