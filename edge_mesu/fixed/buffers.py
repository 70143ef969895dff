"""The scratch buffers of the fixed-point learner's device code (the generated C), with their lifetimes.

One list, two readers: :mod:`edge_mesu.fixed.cgen` plans the C arena from it (each buffer at its planned
offset, ``NAME_ARENA_BYTES`` the plan's size) and ``firmware_sim`` budgets the same plans, so the two agree
to the byte. Steps of a pass: 0 the input is widened, ``1 + l`` the forward pass of layer l, ``L + 1`` the
softmax, ``L + 2 + (L − 1 − l)`` the fused backward and update of layer l. Buffers of different element
types never share bytes (their ``group``); same-typed buffers with disjoint lifetimes do (the forward
accumulators and the backward ``W^T δ`` sums).

Example
-------
>>> from edge_mesu.memplan import plan_memory
>>> [b.name for b in arena_buffers((784, 50, 10), "learn")]
['act', 'z', 'acc', 'acc32', 'delta0', 'delta1', 'back']
>>> plan_memory(arena_buffers((784, 50, 10), "learn"), ARENA_ALIGNMENT).arena_bytes
2912
"""

from __future__ import annotations

from ..memplan import Buffer

__all__ = ["ARENA_ALIGNMENT", "ELEMENT_BYTES", "arena_buffers"]

ARENA_ALIGNMENT = 8  # the widest element (int64 accumulators)
ELEMENT_BYTES = {"int16": 2, "int32": 4, "int64": 8}


def arena_buffers(layers: tuple[int, ...] | list[int], pass_name: str, sampling: str = "weights") -> list[Buffer]:
    """The C arena's buffers of ``pass_name`` (``"predict"``: mean-weight inference, ``"learn"``: one update)
    for a learner of ``sampling`` (``"weights"`` or ``"lrt"``; only the learn pass differs).

    ``act`` int16: every layer's input (x widened, h1, ...), read again by the update; ``z`` int32: every
    pre-activation (the ReLU masks of the backward pass); ``acc32`` int32 / ``acc`` int64: the accumulators
    of one layer's forward pass (int32 per parameter, flushed to int64 before Σ|a| could overflow them);
    ``delta0``/``delta1`` int32: δ16 of the layer being updated and δ of the one below; ``back`` int32:
    W^T δ16 of the layer being updated. Local reparameterisation's learn pass (:mod:`.lrt`) adds ``var``
    int64 / ``var32`` int32: a layer's variance accumulators (v_j; uint32 sums flushed to 64 bits before
    Σ a2 could overflow them), ``noise`` int32: every layer's S_j (the √ of v, read again by the backward
    pass), ``unum`` int64: a layer's U_j before normalisation, ``u16`` int32: its u16, ``tback`` int32: the
    T sums Σ_j u16_j·sq16_ij of the layer being updated.
    """
    if pass_name not in ("predict", "learn"):
        raise ValueError(f"pass must be 'predict' or 'learn', got {pass_name!r}")
    if sampling not in ("weights", "lrt"):
        raise ValueError(f"sampling must be 'weights' or 'lrt', got {sampling!r}")
    sizes = [int(v) for v in layers]
    L = len(sizes) - 1
    width, z_len, act_len = max(sizes[1:]), sum(sizes[1:]), sum(sizes[:-1])

    def buf(name: str, kind: str, n: int, first: int, last: int) -> Buffer:  # padded: the arena stays aligned
        nbytes = ELEMENT_BYTES[kind] * n
        return Buffer(name, nbytes + (-nbytes) % ARENA_ALIGNMENT, first, last, kind)

    if pass_name == "predict":
        return [
            buf("act", "int16", act_len, 0, L),
            buf("z", "int32", z_len, 1, L + 1),
            buf("acc", "int64", width, 1, L),
            buf("acc32", "int32", width, 1, L),
        ]
    end = 2 * L + 1
    lrt = (
        [
            buf("var", "int64", width, 1, L),
            buf("var32", "int32", width, 1, L),
            buf("noise", "int32", z_len, 1, end),
            buf("unum", "int64", width, L + 1, end),
            buf("u16", "int32", width, L + 1, end),
            buf("tback", "int32", width, L + 2, end),
        ]
        if sampling == "lrt"
        else []
    )
    return [
        buf("act", "int16", act_len, 0, end),
        buf("z", "int32", z_len, 1, end),
        buf("acc", "int64", width, 1, L),
        buf("acc32", "int32", width, 1, L),
        buf("delta0", "int32", width, L + 1, end),
        buf("delta1", "int32", width, L + 1, end),
        buf("back", "int32", width, L + 2, end),
    ] + lrt
