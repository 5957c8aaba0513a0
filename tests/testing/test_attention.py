"""The scaled-dot-product-attention spec: PyTorch's SDPA passes (fully masked rows excluded, and said
so); a hand-written attention that returns NaN on fully masked rows passes too; an inverted mask is named.
The example file's three classic bugs are tested in test_examples.py."""
import math

import pytest
import torch
import torch.nn.functional as F

from explainer.testing import assert_matches_derivation


def test_pytorch_sdpa_passes_and_fully_masked_rows_are_reported():
    summary = assert_matches_derivation("scaled-dot-product-attention", F.scaled_dot_product_attention)
    assert summary.cases == 36  # 6 cases (3 without mask, causal, padding, random) × 3 seeds × 2 dtypes
    assert summary.excluded and all("every key masked" in note for note in summary.excluded)


def test_nan_on_fully_masked_rows_is_not_a_failure():
    def handwritten(q, k, v, mask=None):
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        return torch.softmax(scores, dim=-1) @ v  # NaN where a row is all −∞

    assert_matches_derivation("scaled-dot-product-attention", handwritten)


def test_inverted_mask_is_named():
    def inverted(q, k, v, mask=None):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=None if mask is None else ~mask)

    with pytest.raises(AssertionError, match="mask not respected") as info:
        assert_matches_derivation("scaled-dot-product-attention", inverted)
    assert "mask" in str(info.value).split("failing case:")[1].splitlines()[0]


def test_masks_can_be_left_out():
    def no_mask_support(q, k, v):
        return F.scaled_dot_product_attention(q, k, v)

    assert assert_matches_derivation("scaled-dot-product-attention", no_mask_support, masks=False).cases == 18
