"""The residual-layernorm spec against PyTorch's F.layer_norm, and the unbiased-variance bug named."""
import pytest
import torch
import torch.nn.functional as F

from explainer.testing import assert_matches_derivation


def test_f_layer_norm_passes():
    def layer_norm(x, gamma, beta, eps):
        return F.layer_norm(x, (x.shape[-1],), gamma, beta, eps)

    assert assert_matches_derivation("residual-layernorm", layer_norm).cases == 30


def test_unbiased_variance_is_a_wrong_scale():
    def unbiased(x, gamma, beta, eps):
        mean, var = x.mean(-1, keepdim=True), x.var(-1, keepdim=True)  # torch.var divides by d − 1
        return gamma * (x - mean) / torch.sqrt(var + eps) + beta

    with pytest.raises(AssertionError, match=r"wrong scale: the variance divides by d − 1 \(unbiased\)"):
        assert_matches_derivation("residual-layernorm", unbiased)
