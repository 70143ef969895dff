"""Fleets of fixed-point learners: many devices stepped as one vectorised update, and posterior fusion.

:class:`Fleet` holds D devices of one :class:`~edge_mesu.fixed.FixedMESULearner` configuration and steps
them with the learner's own integer step over a leading device axis (bit-identical to each device's
learner); :mod:`.fusion` fuses posteriors as a product of Gaussians in the learner's integer formats.
Running fleets over streams, shards and backends is the app layer's job (``edge_mesu_app.fleet``).
"""

from __future__ import annotations

from .batched import Fleet, solo_learner
from .fusion import FusionTables, fuse_float

__all__ = ["Fleet", "FusionTables", "fuse_float", "solo_learner"]
