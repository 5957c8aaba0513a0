"""`residual-layernorm`: mean 0 and variance σ²/(σ² + ε) proved; the closed form against nn.LayerNorm."""
from __future__ import annotations

import math
import random
from dataclasses import replace

import numpy as np
import pytest
import sympy as sp

from explainer import registry
from tests.derivations.steps import step_index as _index
from explainer.check import FAILED, PROVED, check

NAME = "residual-layernorm"




def _plain_layer_norm(x, gamma, beta, eps):
    mu = sum(x) / len(x)
    var = sum((v - mu) ** 2 for v in x) / len(x)
    return [g * (v - mu) / math.sqrt(var + eps) + b for v, g, b in zip(x, gamma, beta)]


def test_report_ok_and_key_steps_proved():
    d = registry.build(NAME)
    report = check(d)
    assert report.ok
    assert all(r.status != "checked numerically" for r in report.results)
    for text in ("have mean 0", "mean square", "tends to 1", "residual y = x + F(x)", "I + W"):
        assert report.result_for("step", _index(d, text) + 1).status == PROVED, text


def test_closed_form_matches_plain_python():
    rng = random.Random(5)
    for width in (1, 3, 8):
        args, row = registry.build(NAME).closed_forms(width)["layer_norm"]
        assert [str(a) for a in args] == ["x", "gamma", "beta", "eps"]
        f = sp.lambdify(args, row, "numpy")
        x, gamma, beta = ([rng.uniform(-4, 4) for _ in range(width)] for _ in range(3))
        got = np.asarray(f(np.array([x]), np.array([gamma]), np.array([beta]), 1e-5), dtype=float).ravel()
        np.testing.assert_allclose(got, _plain_layer_norm(x, gamma, beta, 1e-5), rtol=1e-12, atol=1e-12)


def test_closed_form_matches_torch_layer_norm():
    torch = pytest.importorskip("torch", reason="nn.LayerNorm is the oracle")
    torch.manual_seed(0)
    ln = torch.nn.LayerNorm(6, eps=1e-5, dtype=torch.float64)
    with torch.no_grad():
        ln.weight.normal_()
        ln.bias.normal_()
    x = torch.randn(1, 6, dtype=torch.float64) * 3 + 1
    args, row = registry.build(NAME).closed_forms(6)["layer_norm"]
    got = sp.lambdify(args, row, "numpy")(x.numpy(), ln.weight.detach().numpy()[None], ln.bias.detach().numpy()[None], 1e-5)
    np.testing.assert_allclose(np.asarray(got, dtype=float), ln(x).detach().numpy(), rtol=1e-7, atol=1e-7)


def test_an_unbiased_variance_breaks_the_unit_variance_step():
    d = registry.build(NAME)
    var_def = d.steps[1]  # σ² := mean of squared deviations
    unbiased = replace(var_def, rhs=var_def.rhs * sp.Rational(4, 3))  # divide by d − 1 = 3 instead of d = 4
    report = check(replace(d, steps=(d.steps[0], unbiased) + d.steps[2:]))
    assert report.result_for("step", _index(d, "mean square") + 1).status == FAILED
    assert report.result_for("step", _index(d, "have mean 0") + 1).status == PROVED  # the mean is still 0


def test_a_residual_jacobian_without_the_identity_fails():
    d = registry.build(NAME)
    n = _index(d, "I + W")
    W = sp.MatrixSymbol("W", 3, 3)
    broken = replace(d, steps=d.steps[:n] + (replace(d.steps[n], rhs=W.as_explicit()),) + d.steps[n + 1:])
    assert check(broken).result_for("step", n + 1).status == FAILED
