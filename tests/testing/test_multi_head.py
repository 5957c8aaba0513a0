"""The multi-head-attention spec against PyTorch's own nn.MultiheadAttention, and two bugs named."""
import math

import pytest
import torch

from explainer.testing import assert_matches_derivation


def torch_mha(x, w_q, w_k, w_v, w_o, n_heads, mask=None):
    """nn.MultiheadAttention with the given weights (no biases); its attn_mask is True where *blocked*."""
    batched = x.dim() == 3
    xb = x if batched else x[None]                                                   # (B, n, d)
    B, n, d = xb.shape
    module = torch.nn.MultiheadAttention(d, n_heads, bias=False, batch_first=True, dtype=x.dtype)
    with torch.no_grad():
        module.in_proj_weight.copy_(torch.cat([w_q, w_k, w_v]))
        module.out_proj.weight.copy_(w_o)
    blocked = None
    if mask is not None:
        blocked = (~mask).expand(B, n, n).repeat_interleave(n_heads, 0)             # (B·h, n, n)
    out, _ = module(xb, xb, xb, attn_mask=blocked, need_weights=False)
    return out if batched else out[0]


def hand_mha(scale_by_d_model=False, heads_first=False):
    def mha(x, w_q, w_k, w_v, w_o, n_heads, mask=None):
        *batch, n, d = x.shape
        size = d // n_heads

        def split(t):                                                                 # (..., h, n, d_head)
            if heads_first:
                return t.reshape(*batch, n_heads, n, size)                          # bug: wrong layout
            return t.reshape(*batch, n, n_heads, size).transpose(-3, -2)

        q, k, v = (split(x @ w.T) for w in (w_q, w_k, w_v))
        scores = q @ k.transpose(-2, -1) / math.sqrt(d if scale_by_d_model else size)
        if mask is not None:
            scores = scores.masked_fill(~mask.unsqueeze(-3), float("-inf"))
        y = (torch.softmax(scores, -1) @ v).transpose(-3, -2).reshape(*batch, n, d)
        return y @ w_o.T
    return mha


def test_nn_multihead_attention_passes():
    assert assert_matches_derivation("multi-head-attention", torch_mha).cases == 24


def test_scaling_by_d_model_is_named():
    with pytest.raises(AssertionError, match="wrong scale: each head's scores are multiplied by 1/√d_model"):
        assert_matches_derivation("multi-head-attention", hand_mha(scale_by_d_model=True))


def test_wrong_head_layout_is_named():
    with pytest.raises(AssertionError, match="heads split or concatenated in the wrong layout"):
        assert_matches_derivation("multi-head-attention", hand_mha(heads_first=True))


def test_an_inverted_mask_is_named():
    def inverted(x, w_q, w_k, w_v, w_o, n_heads, mask=None):
        return torch_mha(x, w_q, w_k, w_v, w_o, n_heads, None if mask is None else ~mask)

    with pytest.raises(AssertionError, match="the mask looks inverted"):
        assert_matches_derivation("multi-head-attention", inverted)
