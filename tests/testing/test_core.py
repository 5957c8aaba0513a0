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
