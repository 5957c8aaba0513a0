"""The cross-entropy spec against F.cross_entropy (loss and autograd gradient), and three bugs named."""
import pytest
import torch
import torch.nn.functional as F

from explainer.testing import assert_matches_derivation


def test_f_cross_entropy_passes_with_its_gradient():
    assert assert_matches_derivation("cross-entropy", F.cross_entropy).cases == 24


def test_sum_reduction_is_a_wrong_scale():
    with pytest.raises(AssertionError, match="the loss is the sum over the 3 rows, not their mean"):
        assert_matches_derivation("cross-entropy", lambda z, y: F.cross_entropy(z, y, reduction="sum"))


def test_naive_log_softmax_overflows():
    def naive(z, y):
        p = torch.exp(z) / torch.exp(z).sum(-1, keepdim=True)
        return -torch.log(p)[torch.arange(len(y)), y].mean()

    with pytest.raises(AssertionError, match="not invariant under a shift"):
        assert_matches_derivation("cross-entropy", naive)


def test_a_wrong_gradient_is_caught_after_a_right_loss():
    class WrongGrad(torch.autograd.Function):
        @staticmethod
        def forward(ctx, z, y):
            ctx.save_for_backward(z, y)
            return F.cross_entropy(z, y)

        @staticmethod
        def backward(ctx, grad):
            z, y = ctx.saved_tensors
            return grad * torch.softmax(z, -1), None  # forgot − onehot(y)

    with pytest.raises(AssertionError, match="gradient rows do not sum to 0"):
        assert_matches_derivation("cross-entropy", WrongGrad.apply)


def test_a_loss_autograd_cannot_differentiate_is_reported_with_the_case():
    with pytest.raises(AssertionError) as info:
        assert_matches_derivation("cross-entropy", lambda z, y: F.cross_entropy(z.detach(), y))
    message = str(info.value)
    assert message.startswith("cross-entropy: your function does not match")
    assert "failing case: seed 0, float64: logits (1, 2)" in message
    assert "could not be differentiated by autograd" in message
