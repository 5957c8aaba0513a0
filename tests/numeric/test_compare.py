"""Tolerances are PyTorch's: the table agrees with torch.testing.assert_close itself."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from explainer.numeric import compare

DTYPES = {"float64": torch.float64, "float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


@pytest.mark.parametrize("name", list(compare.ASSERT_CLOSE))
@pytest.mark.parametrize("factor", [0.9, 1.5])
def test_tolerances_match_assert_close_defaults(name, factor):
    """For values just inside / outside the table's tolerance, torch.testing.assert_close with its own
    defaults for the dtype and compare.within with the table give the same verdict."""
    rtol, atol = compare.ASSERT_CLOSE[name]
    dtype = DTYPES[name]
    expected = torch.tensor([1.0, 0.0], dtype=dtype)
    actual = torch.tensor([1.0 + factor * rtol, factor * atol], dtype=torch.float64).to(dtype)
    try:
        torch.testing.assert_close(actual, expected)
        torch_ok = True
    except AssertionError:
        torch_ok = False
    assert torch_ok == compare.within(expected, actual, rtol, atol) == (factor < 1)


def test_errors_and_nan():
    abs_err, rel_err = compare.errors(np.array([2.0, 0.0]), np.array([2.5, 1e-9]))
    assert abs_err == 0.5 and rel_err == 0.25
    assert compare.within(np.array([np.nan, 1.0]), np.array([np.nan, 1.0]), 1e-7, 1e-7)
    assert not compare.within(np.array([np.nan, 1.0]), np.array([0.0, 1.0]), 1e-7, 1e-7)


def test_fused_rule_scales_with_the_math_error():
    golden = np.ones(4)
    math_out = golden + 1e-3
    assert compare.fused("d", "c", "cpu", "float16", golden, golden + 3e-3, math_out).status == compare.PASSED
    assert compare.fused("d", "c", "cpu", "float16", golden, golden + 1e-1, math_out).status == compare.FAILED
