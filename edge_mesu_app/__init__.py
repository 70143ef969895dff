"""The app layer of edge-mesu: what wires the core, ``export`` and ``firmware_sim`` together.

The ``edge-mesu`` command (:mod:`.cli`), the demo, sensor learning from recordings, benchmarks, sweeps and
fleet simulations. Nothing below this layer imports it: ``edge_mesu`` is the core, ``export`` and
``firmware_sim`` read what the core exposes and never import each other (docs/architecture.md).
"""

from __future__ import annotations

__all__: list[str] = []
