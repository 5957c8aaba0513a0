"""Sharded computations checked across real ``torch.distributed`` processes.

Three derivations split one layer over ``p`` ranks and prove that the pieces add up to the whole:

* ``tensor-parallel-attention`` — heads split across ranks (W_Q, W_K, W_V by columns, W_O by rows),
  one all-reduce forward and one backward;
* ``tensor-parallel-mlp`` — W₁ by columns, W₂ by rows, GELU in between needs no communication;
* ``ring-attention`` — the sequence split across ranks, key/value blocks passed around a ring and merged
  with the online-softmax identity.

``explainer verify NAME --world-size P`` starts ``P`` worker processes (:mod:`explainer.distributed.launch`),
gives each its shard of a seeded reference problem (:mod:`explainer.distributed.specs`), runs the sharded
computation with real collectives (:mod:`explainer.distributed.collectives`, :mod:`explainer.distributed.ring`)
and compares, on rank 0, with PyTorch's own single-process modules, forward and backward. It also measures
the bytes each rank wrote to its sockets and sets them against the communication formula.

This package's ``__init__`` imports nothing heavy: ``explainer list/show/check`` may read :data:`DERIVATIONS`.
"""
from __future__ import annotations

#: The derivations verified across processes (``explainer verify NAME --world-size P``).
DERIVATIONS = ("tensor-parallel-attention", "tensor-parallel-mlp", "ring-attention")
