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


def test_eps_outside_the_square_root_is_named():
    def eps_outside(x, gamma, beta, eps):
        mean, var = x.mean(-1, keepdim=True), x.var(-1, unbiased=False, keepdim=True)
        return gamma * (x - mean) / (torch.sqrt(var) + eps) + beta

    with pytest.raises(AssertionError, match="ε added outside the square root"):
        assert_matches_derivation("residual-layernorm", eps_outside)


def test_normalising_over_the_wrong_axis_is_named():
    def over_batch(x, gamma, beta, eps):  # axis 0: right for a single row, wrong once there is a batch
        return F.layer_norm(x.transpose(0, -1), (x.shape[0],), None, None, eps).transpose(0, -1) * gamma + beta

    with pytest.raises(AssertionError, match="rows do not have mean 0: normalise over the last axis"):
        assert_matches_derivation("residual-layernorm", over_batch)


def test_computing_in_float32_is_not_blamed_on_eps():
    def in_float32(x, gamma, beta, eps):
        return F.layer_norm(x.float(), (x.shape[-1],), gamma.float(), beta.float(), eps).to(x.dtype)

    with pytest.raises(AssertionError, match="property violated: none identified"):
        assert_matches_derivation("residual-layernorm", in_float32)
