"""The softmax spec: torch's own softmax passes; three wrong ones fail with the property they violate."""
import pytest
import torch

from explainer.testing import assert_matches_derivation


def test_torch_softmax_passes_on_float64_and_float32():
    summary = assert_matches_derivation("softmax", torch.softmax)
    assert summary.cases == 30  # 5 shapes × 3 seeds × 2 dtypes


def test_naive_softmax_overflows_and_is_named_not_shift_invariant():
    def naive(x, dim):
        return torch.exp(x) / torch.exp(x).sum(dim, keepdim=True)

    with pytest.raises(AssertionError, match="not invariant under a shift") as info:
        assert_matches_derivation("softmax", naive)
    message = str(info.value)
    assert "softmax: your function does not match" in message
    assert "shifted by +1000" in message  # the failing case: exp(1000) overflows
    assert "got nan" in message


def test_wrong_axis_is_named():
    with pytest.raises(AssertionError, match="softmax seems taken over the wrong axis"):
        assert_matches_derivation("softmax", lambda x, dim: torch.softmax(x, 0))


def test_temperature_is_a_wrong_scale():
    with pytest.raises(AssertionError, match=r"wrong scale: the output is softmax\(t·x\) with t = 0.5"):
        assert_matches_derivation("softmax", lambda x, dim: torch.softmax(x / 2, dim))


def test_an_unknown_option_is_a_clear_type_error():
    with pytest.raises(TypeError, match="unknown option"):
        assert_matches_derivation("softmax", torch.softmax, seed=3)
