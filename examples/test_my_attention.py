"""Check your own attention against the proved formula, in your own pytest suite.

    pytest examples/test_my_attention.py
    python examples/test_my_attention.py     # prints the message each buggy version gets

``my_attention`` is a correct implementation: it passes. The three after it are subtly wrong in ways
that still give plausible numbers; each test shows the message ``assert_matches_derivation`` raises,
which names the property of the derivation that is violated.
"""
import math

import pytest
import torch

from explainer.testing import assert_matches_derivation


def my_attention(q, k, v, mask=None):
    """softmax(q kᵀ / √d_k + M) v, with mask True where a query may attend (as F.scaled_dot_product_attention)."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])           # (..., n, m)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v                              # (..., n, d_v)


def softmax_over_wrong_axis(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-2) @ v                              # bug: over the queries


def scaled_by_d_k(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / q.shape[-1]                       # bug: d_k instead of √d_k
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


def mask_after_softmax(q, k, v, mask=None):
    weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)
    if mask is not None:
        weights = weights * mask                                          # bug: masks after normalising
    return weights @ v


def test_my_attention_matches_the_derivation():
    assert_matches_derivation("scaled-dot-product-attention", my_attention)


def test_pytorch_itself_matches_the_derivation():
    assert_matches_derivation("scaled-dot-product-attention", torch.nn.functional.scaled_dot_product_attention)


@pytest.mark.parametrize("buggy, what", [
    (softmax_over_wrong_axis, "softmax seems taken over the queries"),
    (scaled_by_d_k, "wrong scale: the scores QKᵀ are multiplied by 1/d_k"),
    (mask_after_softmax, "the mask seems applied after softmax"),
])
def test_subtly_wrong_attention_is_caught(buggy, what):
    with pytest.raises(AssertionError, match=what):
        assert_matches_derivation("scaled-dot-product-attention", buggy)


if __name__ == "__main__":
    for buggy in (softmax_over_wrong_axis, scaled_by_d_k, mask_after_softmax):
        try:
            assert_matches_derivation("scaled-dot-product-attention", buggy)
        except AssertionError as failure:
            print(f"--- {buggy.__name__}\n{failure}\n")
