"""The comparison rule is torch.testing.assert_close's: checked against it on random arrays."""
import numpy as np
import pytest
import torch

from explainer.testing.core import TOLERANCES, compare


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_compare_agrees_with_assert_close(dtype):
    rng = np.random.default_rng(0)
    rtol, atol = TOLERANCES[dtype]
    for trial in range(200):
        expected = rng.normal(size=(3, 4))
        actual = expected + rng.normal(size=(3, 4)) * 10.0 ** rng.uniform(-9, -3)
        try:
            torch.testing.assert_close(torch.tensor(actual), torch.tensor(expected), rtol=rtol, atol=atol)
            torch_ok = True
        except AssertionError:
            torch_ok = False
        assert (compare(actual, expected, rtol, atol) is None) == torch_ok, trial


def test_mismatch_reports_the_worst_element_and_nan():
    expected = np.array([[1.0, 2.0], [3.0, 4.0]])
    actual = np.array([[1.0, 2.5], [np.nan, 4.0]])
    found = compare(actual, expected, 1e-7, 1e-7)
    assert found.index == (1, 0) and np.isnan(found.got) and found.expected == 3.0
    assert found.count == 2 and found.total == 4
    assert compare(actual, expected, 1e-7, 1e-7, valid=np.array([[True, False], [False, True]])) is None


def test_a_row_is_reported_with_its_real_sum():
    from explainer.testing.probes import rows_sum_to_one

    assert rows_sum_to_one(np.array([[0.005, 0.005], [0.5, 0.5]]), 1e-6) == "rows do not sum to 1 (one sums to 0.01)"
    assert rows_sum_to_one(np.array([[0.9, 0.9], [0.5, 0.5]]), 1e-6) == "rows do not sum to 1 (one sums to 1.8)"


def test_a_function_that_raises_is_reported_with_the_case_and_a_hint_for_masks():
    from explainer.testing import assert_matches_derivation

    with pytest.raises(AssertionError) as info:
        assert_matches_derivation("scaled-dot-product-attention",
                                  lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(q, k, v))
    message = str(info.value)
    assert "mask" in message.split("failing case:")[1].splitlines()[0]
    assert "raised TypeError" in message and "masks=False" in message
    assert "property violated" not in message  # nothing was compared, so no property is claimed


def test_a_wrong_shape_is_reported_without_a_property():
    from explainer.testing import assert_matches_derivation

    with pytest.raises(AssertionError, match=r"returned shape \(\), expected \(1,\)") as info:
        assert_matches_derivation("softmax", lambda x, dim: torch.softmax(x, dim).sum())
    assert "property violated" not in str(info.value)


def test_a_probe_that_fails_does_not_hide_the_mismatch():
    from explainer.testing import assert_matches_derivation

    calls = []

    def breaks_when_probed(x, dim):  # wrong on the first call; raises on every later call (the probes)
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("probe")
        return torch.softmax(x, dim) * 2

    with pytest.raises(AssertionError, match="largest error") as info:
        assert_matches_derivation("softmax", breaks_when_probed)
    assert "property violated: none identified" in str(info.value)
