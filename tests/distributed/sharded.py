"""Users' sharded functions for the tests: one right, the others with a planted bug each.

They are sent to the worker processes by name, so they live at module level here.
"""
from __future__ import annotations

import os
import time

import torch.distributed as dist
import torch.nn.functional as F

from explainer.distributed import shards
from explainer.distributed.collectives import copy_to_ranks, sum_over_ranks


def right_mlp(x, shard):
    """A user's own tensor-parallel MLP, written from the shard layout."""
    hidden = F.gelu(F.linear(copy_to_ranks(x), shard.w_1, shard.b_1))
    return sum_over_ranks(F.linear(hidden, shard.w_2)) + shard.b_2


def missing_all_reduce(x, shard):
    """Planted bug: each rank returns its partial output (the forward all-reduce is missing)."""
    hidden = F.gelu(F.linear(copy_to_ranks(x), shard.w_1, shard.b_1))
    return F.linear(hidden, shard.w_2) + shard.b_2


def bias_on_every_rank(x, shard):
    """Planted bug: b₂ added before the all-reduce, so it is counted p times."""
    hidden = F.gelu(F.linear(copy_to_ranks(x), shard.w_1, shard.b_1))
    return sum_over_ranks(F.linear(hidden, shard.w_2, shard.b_2))


def no_backward_all_reduce(x, shard):
    """Planted bug: forward right, but ∂L/∂X is never summed over the ranks (plain dist.all_reduce
    has no gradient of its own; the input is used without Megatron's f)."""
    hidden = F.gelu(F.linear(x, shard.w_1, shard.b_1))
    return sum_over_ranks(F.linear(hidden, shard.w_2)) + shard.b_2


def dies(x, shard):
    """Rank 1 exits in the middle of the layer."""
    if shard.rank == 1:
        os._exit(3)
    return shards.tensor_parallel_mlp(x, shard)


def hangs(x, shard):
    """Rank 1 never reaches the collective; the others wait for it."""
    if shard.rank == 1:
        time.sleep(3600)
    return shards.tensor_parallel_mlp(x, shard)


def raises(x, shard):
    """The user's code raises on rank 1."""
    if shard.rank == 1:
        raise ValueError("planted: shapes do not line up on rank 1")
    return shards.tensor_parallel_mlp(x, shard)


def wrong_shape(x, shard):
    """Returns only this rank's slice of the width."""
    return shards.tensor_parallel_mlp(x, shard)[..., : x.shape[-1] // dist.get_world_size()]


def ring_ignores_the_mask(x, shard):
    """Planted bug: ring attention that attends to future blocks even when the mask is causal."""
    shard.causal = False
    return shards.ring_self_attention(x, shard)
