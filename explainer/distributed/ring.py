r"""Ring attention (Liu et al. 2023): the sequence split across ranks, key/value blocks passed around.

Rank r (0 … p − 1, as torch.distributed numbers them) holds the queries, keys and values of its block
of the T tokens, positions r·T/p … (r + 1)·T/p − 1. At step s = 0 … p − 1 it holds the key/value block of rank
j = r − s (mod p), attends its queries to it, merges the partial result into its running state with the
online-softmax merge (``explainer.derivations.online_softmax.merge``):

    (m, ℓ, o) ⊕ (m′, ℓ′, o′) = (M, e^{m−M} ℓ + e^{m′−M} ℓ′, (e^{m−M} ℓ o + e^{m′−M} ℓ′ o′) / ℓ_new),
    M = max(m, m′)

where for one block m = max_j s_ij, ℓ = Σ_j e^{s_ij − m}, o = Σ_j e^{s_ij − m} v_j / ℓ. After p steps
the state covers every key, and o is exactly softmax(q Kᵀ/√d_k) V. With a causal
mask, blocks from later ranks (j > r) lie entirely in the future and are skipped: no scores, no merge.

The backward pass is a second trip around the ring (the FlashAttention-2 gradient with the saved
log-sum-exp L = m + log ℓ): P = e^{S − L}, dV_j = Pᵀ dO, dS = P ∘ (dO V_jᵀ − rowsum(dO ∘ O)),
dQ += dS K_j/√d_k, dK_j = dSᵀ Q/√d_k; the gradients of each block travel with it and arrive home
after p hops.
"""
from __future__ import annotations

import math

import torch
import torch.distributed as dist

from explainer.derivations import online_softmax
from explainer.distributed.collectives import METER, ring_exchange


def merge(a, b):
    """The online-softmax merge of two (m, ℓ, o) states: the ``online-softmax`` derivation's own helper,
    on tensors. The empty state (−∞, 0, 0) merges to the other one unchanged."""
    return online_softmax.merge(*a, *b, exp=torch.exp, maximum=torch.maximum)


def _scores(q, k, diagonal: bool):
    """S = q kᵀ/√d_k (B, H, n, n); on the diagonal block of a causal ring the future is −∞."""
    s = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if diagonal:
        future = torch.ones(s.shape[-2:], dtype=torch.bool, device=s.device).triu(1)
        s = s.masked_fill(future, float("-inf"))
    return s


def _block_state(q, k, v, diagonal: bool):
    """(m, ℓ, o) of one key/value block: m (B, H, n, 1), ℓ (B, H, n, 1), o = Σ e^{s−m} v / ℓ (B, H, n, d_k)."""
    s = _scores(q, k, diagonal)
    m = s.amax(-1, keepdim=True)
    e = torch.exp(s - m)
    ell = e.sum(-1, keepdim=True)
    return m, ell, e @ v / ell


def _visits(rank: int, size: int, causal: bool):
    """(step, block owner j, compute?) for each step of the ring at ``rank``."""
    for step in range(size):
        j = (rank - step) % size
        yield step, j, not causal or j <= rank


class RingAttention(torch.autograd.Function):
    """softmax(Q Kᵀ/√d_k) V for this rank's queries against every rank's keys and values."""

    @staticmethod
    def forward(ctx, q, k, v, causal: bool):                    # q, k, v (B, H, n, d_k): this rank's block
        rank, size = dist.get_rank(), dist.get_world_size()
        m = torch.full_like(q[..., :1], float("-inf"))           # (B, H, n, 1): the empty state
        l, o = torch.zeros_like(m), torch.zeros_like(q)
        kv = torch.cat([k, v], dim=-1)                           # (B, H, n, 2 d_k): one message per step
        computed = 0
        for step, j, compute in _visits(rank, size, causal):
            if compute:
                kj, vj = kv.split(k.shape[-1], dim=-1)
                m, l, o = merge((m, l, o), _block_state(q, kj, vj, diagonal=causal and j == rank))
                computed += 1
            if step < size - 1:
                kv = ring_exchange(kv, "ring: send K, V blocks (forward)")
        out = o
        ctx.save_for_backward(q, k, v, out, m + torch.log(l))
        ctx.causal = causal
        METER.blocks.append((computed, size))
        return out

    @staticmethod
    def backward(ctx, d_out):
        q, k, v, out, lse = ctx.saved_tensors
        rank, size = dist.get_rank(), dist.get_world_size()
        scale = 1 / math.sqrt(q.shape[-1])
        row_dot = (d_out * out).sum(-1, keepdim=True)            # rowsum(dO ∘ O) (B, H, n, 1)
        dq = torch.zeros_like(q)
        kv = torch.cat([k, v], dim=-1)
        d_kv = torch.zeros_like(kv)                              # gradient of the block now held
        for step, j, compute in _visits(rank, size, ctx.causal):
            if compute:
                kj, vj = kv.split(k.shape[-1], dim=-1)
                p = torch.exp(_scores(q, kj, diagonal=ctx.causal and j == rank) - lse)   # (B, H, n, n)
                ds = p * (d_out @ vj.transpose(-2, -1) - row_dot)
                dq = dq + ds @ kj * scale
                d_kv = d_kv + torch.cat([ds.transpose(-2, -1) @ q * scale, p.transpose(-2, -1) @ d_out], dim=-1)
            if size > 1:
                d_kv = ring_exchange(d_kv, "ring: send dK, dV blocks (backward)")
            if step < size - 1:
                kv = ring_exchange(kv, "ring: send K, V blocks (backward)")
        dk, dv = d_kv.split(k.shape[-1], dim=-1)
        return dq, dk, dv, None


def ring_attention(q, k, v, causal: bool = False):
    """Attention of this rank's queries (B, H, n, d_k) over the whole sequence, the blocks in rank order."""
    return RingAttention.apply(q, k, v, causal)
