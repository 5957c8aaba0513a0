"""`rms-norm`: scale invariance (up to ε) proved, LayerNorm's shift invariance does not carry over; the
closed form against torch.nn.RMSNorm."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import sympy as sp

from explainer import registry
from explainer.check import FAILED, PROVED, check, check_step
from explainer.derivations import rms_norm
from explainer.formats import render
from tests.derivations.steps import step_index

NAME = "rms-norm"


def test_report_ok_and_everything_proved():
    report = check(registry.build(NAME))
    assert report.ok, report.failures
    assert {r.status for r in report.results} <= {PROVED}


def test_shift_invariance_is_rejected_for_rms_norm():
    """RMSNorm(x + c·1) = RMSNorm(x), LayerNorm's property, must fail."""
    d = registry.build(NAME)
    s = d.steps[step_index(d, "LayerNorm forgets an offset")]
    x = sp.MatrixSymbol("x", 1, rms_norm.D)
    ones = sp.OneMatrix(1, rms_norm.D)
    shifted = rms_norm.RMSNorm(x + rms_norm.c * ones, ones, rms_norm.eps)
    assert check_step(shifted, replace(s, rhs=rms_norm.RMSNorm(x, ones, rms_norm.eps)))[0] == FAILED


def test_scale_invariance_with_epsilon_unchanged_is_rejected():
    """With ε > 0 scaling x is not free: RMSNorm(c·x, g, ε) ≠ RMSNorm(x, g, ε)."""
    d = registry.build(NAME)
    s = d.steps[step_index(d, "shrinking ε by c²")]
    x, g = sp.MatrixSymbol("x", 1, rms_norm.D), sp.MatrixSymbol("g", 1, rms_norm.D)
    assert check_step(s.lhs, replace(s, rhs=rms_norm.RMSNorm(x, g, rms_norm.eps)))[0] == FAILED


def test_closed_form_matches_torch_rms_norm():
    torch = pytest.importorskip("torch", reason="torch.nn.RMSNorm is the oracle")
    norm = torch.nn.RMSNorm(6, eps=1e-5, dtype=torch.float64)
    with torch.no_grad():
        norm.weight.copy_(torch.randn(6, generator=torch.Generator().manual_seed(2), dtype=torch.float64))
    x = 3 * torch.randn(1, 6, generator=torch.Generator().manual_seed(3), dtype=torch.float64) + 1
    args, row = rms_norm.rms_norm_forms(6)["rms_norm"]
    got = sp.lambdify(args, row, "numpy")(x.numpy(), norm.weight.detach().numpy()[None], 1e-5)
    np.testing.assert_allclose(np.asarray(got, dtype=float), norm(x).detach().numpy(), rtol=1e-12, atol=1e-12)
