"""The built-in sharded computations: what one rank runs, given its shard (see :mod:`explainer.distributed.specs`).

Each is ``fn(x, shard) -> output`` — the same signature a user's own implementation has under
``explainer.testing.assert_matches_derivation(NAME, fn, world_size=P)``.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from explainer.distributed.collectives import copy_to_ranks, sum_over_ranks
from explainer.distributed.ring import ring_attention


def _split_heads(t: torch.Tensor, heads: int) -> torch.Tensor:
    """(B, T, heads·d_k) → (B, heads, T, d_k)."""
    B, T, _ = t.shape
    return t.view(B, T, heads, -1).transpose(1, 2)


def _merge_heads(t: torch.Tensor) -> torch.Tensor:
    """(B, heads, T, d_k) → (B, T, heads·d_k)."""
    B, _, T, _ = t.shape
    return t.transpose(1, 2).reshape(B, T, -1)


def tensor_parallel_attention(x: torch.Tensor, shard) -> torch.Tensor:
    """Σ_r head-block_r W_O^(r) + b_O: this rank's heads, then one all-reduce.

    x (B, T, d) replicated; shard.w_q, w_k, w_v (d/p, d) and b_q, b_k, b_v (d/p): the rows of torch's
    in_proj for this rank's heads (the columns of W_Q, W_K, W_V); shard.w_o (d, d/p): the matching columns
    of out_proj.weight (the rows of W_O); shard.b_o (d) replicated, added once after the sum.
    """
    x = copy_to_ranks(x)                                             # backward: all-reduce of ∂L/∂X
    q, k, v = (_split_heads(F.linear(x, w, b), shard.heads)         # (B, h/p, T, d_k) each
               for w, b in ((shard.w_q, shard.b_q), (shard.w_k, shard.b_k), (shard.w_v, shard.b_v)))
    weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)   # (B, h/p, T, T)
    partial = F.linear(_merge_heads(weights @ v), shard.w_o)        # (B, T, d): this rank's share of the output
    return sum_over_ranks(partial) + shard.b_o                      # forward: all-reduce


def tensor_parallel_mlp(x: torch.Tensor, shard) -> torch.Tensor:
    """Σ_r GELU(X W₁^(r) + b₁^(r)) W₂^(r) + b₂: no communication between the two layers.

    x (B, T, d) replicated; shard.w_1 (d_ff/p, d), b_1 (d_ff/p): rows of fc.weight (columns of W₁);
    shard.w_2 (d, d_ff/p): the matching columns of proj.weight (rows of W₂); shard.b_2 (d) replicated.
    """
    x = copy_to_ranks(x)
    hidden = F.gelu(F.linear(x, shard.w_1, shard.b_1))              # (B, T, d_ff/p): element-wise, local
    return sum_over_ranks(F.linear(hidden, shard.w_2)) + shard.b_2


def ring_self_attention(x: torch.Tensor, shard) -> torch.Tensor:
    """Multi-head self-attention of this rank's block of tokens x (B, T/p, d) over the whole sequence.

    shard.w_in (3d, d), b_in (3d), w_o (d, d), b_o (d): torch's in_proj and out_proj, replicated;
    shard.heads: all h heads; shard.causal: the causal mask. Projections are token-wise, so local;
    only attention needs the other blocks, passed around the ring.
    """
    q, k, v = (_split_heads(t, shard.heads) for t in F.linear(x, shard.w_in, shard.b_in).chunk(3, dim=-1))
    return F.linear(_merge_heads(ring_attention(q, k, v, shard.causal)), shard.w_o, shard.b_o)
