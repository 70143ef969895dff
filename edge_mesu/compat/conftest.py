"""pytest collects this package's doctests only where the host library is installed (the core suite runs
without the ``[river]`` extra)."""

import importlib.util

collect_ignore = [f"{mod}.py" for mod in ("river", "sklearn") if importlib.util.find_spec(mod) is None]
