"""Class names ↔ class indices: the label map a pipeline keeps in its state file.

String labels are mapped to indices; an empty string (or None) means "no label". New names take the free
class slots in order of first appearance; a name with no free slot is an error, raised before anything
changes.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

__all__ = ["ClassMap", "sort_class_names"]


def _sort_key(name: str) -> tuple:
    try:
        return (0, float(name), name)
    except ValueError:
        return (1, 0.0, name)


def sort_class_names(names: Iterable[str]) -> list[str]:
    """Distinct names, numbers in numeric order first, then the others alphabetically.

    >>> sort_class_names(["10", "2", "walk", "2", "run"])
    ['2', '10', 'run', 'walk']
    """
    return sorted({str(n) for n in names if str(n) != ""}, key=_sort_key)


class ClassMap:
    """Names of up to ``capacity`` classes; index = position in ``names``.

    >>> m = ClassMap(["rest"], capacity=3)
    >>> codes, m2 = m.encode(np.array(["walk", "", "rest", "walk"], dtype=object), 4)
    >>> codes.tolist(), m2.names, m.names
    ([1, -1, 0, 1], ['rest', 'walk'], ['rest'])
    """

    def __init__(self, names: list[str], capacity: int) -> None:
        names = [str(n) for n in names]
        if len(set(names)) != len(names) or "" in names:
            raise ValueError(f"class names must be distinct and non-empty, got {names}")
        if len(names) > capacity:
            raise ValueError(f"{len(names)} class names but the learner has {capacity} classes")
        self.names, self.capacity = names, int(capacity)

    def encode(self, labels: object, n: int) -> tuple[np.ndarray, ClassMap]:
        """``(indices, map)`` for ``n`` labels: None (none labelled), integer indices (−1 = none) or names.

        The returned map has the new names appended; ``self`` is not changed.
        """
        if labels is None:
            return np.full(n, -1, dtype=np.int64), self
        arr = np.asarray(labels)
        if arr.shape != (n,):
            raise ValueError(f"labels must have shape ({n},) like the samples, got {arr.shape}")
        if np.issubdtype(arr.dtype, np.integer):
            if arr.size and (arr.min() < -1 or arr.max() >= self.capacity):
                bad = int(arr[(arr < -1) | (arr >= self.capacity)][0])
                raise ValueError(f"label index {bad} out of range [-1, {self.capacity})")
            return arr.astype(np.int64), self
        if arr.dtype.kind not in "UO":
            raise ValueError(f"labels must be integer class indices or names (str), got dtype {arr.dtype}")
        text = (
            np.array(["" if v is None else str(v) for v in arr.tolist()], dtype=object)
            if arr.dtype.kind == "O"
            else arr.astype(str).astype(object)
        )
        uniq, first, inv = np.unique(text.astype(str), return_index=True, return_inverse=True)
        names = list(self.names)
        index = {name: i for i, name in enumerate(names)}
        for j in np.argsort(first, kind="stable"):
            name = str(uniq[j])
            if name and name not in index:
                if len(names) >= self.capacity:
                    raise ValueError(
                        f"label {name!r} is not one of the {self.capacity} classes "
                        f"({', '.join(names)}) and there is no free class slot"
                    )
                index[name] = len(names)
                names.append(name)
        lookup = np.array([index.get(str(u), -1) if str(u) else -1 for u in uniq], dtype=np.int64)
        codes = lookup[inv.reshape(-1)] if n else np.zeros(0, dtype=np.int64)
        return codes, (self if names == self.names else ClassMap(names, self.capacity))

    def __repr__(self) -> str:
        return f"ClassMap({self.names!r}, capacity={self.capacity})"
