"""``assert_matches_derivation`` for the sharded derivations: your own sharded layer, in real processes.

``fn(x, shard)`` runs on every rank (``torch.multiprocessing`` spawn, gloo on the CPU) and returns this
rank's output; ``shard`` carries this rank's tensors as attributes (see :data:`SHARDS`) plus ``rank``
and ``world_size``. Its output and every gradient (autograd through your collectives) are compared on
rank 0 with PyTorch's single-process module; the bytes each rank sends are measured against the
formula. ``explainer.distributed.collectives`` has the differentiable collectives to build it from
(``copy_to_ranks``, ``sum_over_ranks``, ``ring_exchange``).

``fn`` travels to the workers by name, so it must be a module-level function of an importable module
(a test file is fine; a lambda or a nested function is not).
"""
from __future__ import annotations

import pickle
from typing import Callable

#: What ``shard`` holds on each rank (torch's weight layout: out × in), per derivation.
SHARDS = {
    "tensor-parallel-attention": "x (B, T, d) replicated; shard.w_q, w_k, w_v (d/p, d) and b_q, b_k, b_v (d/p): "
                                 "in_proj rows of this rank's heads; shard.w_o (d, d/p): out_proj.weight "
                                 "columns; shard.b_o (d) replicated; shard.heads = h/p. Return (B, T, d), the "
                                 "full output, on every rank",
    "tensor-parallel-mlp": "x (B, T, d) replicated; shard.w_1 (d_ff/p, d), b_1 (d_ff/p): fc rows; shard.w_2 "
                           "(d, d_ff/p): proj columns; shard.b_2 (d) replicated. Return (B, T, d) on every rank",
    "ring-attention": "x (B, T/p, d): this rank's block of tokens; shard.w_in (3d, d), b_in (3d), w_o (d, d), "
                      "b_o (d) replicated; shard.heads = h; shard.causal. Return (B, T/p, d), this block's "
                      "output (replicated weights' gradients are summed over ranks for you)",
}


def assert_matches_sharded(name: str, fn: Callable, *, world_size: int = 2, device: str = "cpu",
                           dtype: str = "float64", seed: int = 0, timeout: float = 120.0):
    """Run ``fn`` on ``world_size`` processes and assert it matches the single-process oracle.

    Returns the :class:`explainer.distributed.verify.Outcome`; raises ``AssertionError`` listing every
    failed comparison (with its worst entry) or the worker that failed, died or hung.
    """
    __tracebackhide__ = True
    from explainer.distributed.launch import WorkerError
    from explainer.distributed.verify import verify

    try:
        pickle.dumps(fn)
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        raise TypeError(f"{getattr(fn, '__qualname__', fn)!r} cannot be sent to the worker processes ({exc}); "
                        "define it at module level in an importable module") from None
    try:
        outcome = verify(name, world_size, device=device, dtype=dtype, seed=seed, timeout=timeout, fn=fn)
    except WorkerError as exc:
        detail = f"\n{exc.detail.strip()}" if exc.detail else ""
        raise AssertionError(f"{name} on {world_size} ranks: {exc}{detail}") from None
    if not outcome.ok:
        raise AssertionError(failure_message(outcome))
    return outcome


def failure_message(outcome) -> str:
    """Every failed row: the check, the largest error, the worst entry; every failed byte count."""
    rows = [r for r in outcome.rows if r.status == "failed"]
    comm = [c for c in outcome.comm if c.status == "failed"]
    lines = [f"{outcome.name} on {outcome.world_size} ranks ({outcome.backend}): your sharded function does not "
             f"match the single-process oracle ({len(rows)} of {len(outcome.rows)} comparisons failed)"]
    lines += [f"  {r.check}: largest error {r.max_abs:.3g} (tolerance {r.tolerance}); {r.notes}" for r in rows]
    lines += [f"  {c.case + ': ' if c.case else ''}{c.phase}: ranks sent {c.measured} B, formula {c.formula} B; "
              f"{c.notes}" for c in comm]
    return "\n".join(lines)
