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


def test_an_offset_on_one_entry_only_is_not_forgotten():
    d = registry.build(NAME)
    n = _index(d, "changes nothing")
    ln_x_plus_offset = d.steps[n].lhs
    x_plus_offset = ln_x_plus_offset.args[0]
    one_entry = sp.ImmutableMatrix([[1, 0, 0, 0]]) * sp.Symbol("c", real=True)
    x = next(a for a in x_plus_offset.args if isinstance(a, sp.MatrixSymbol))
    shifted = replace(d.steps[n], lhs=ln_x_plus_offset.func(x + one_entry, *ln_x_plus_offset.args[1:]))
    report = check(replace(d, steps=d.steps[:n] + (shifted,) + d.steps[n + 1:]))
    assert report.result_for("step", n + 1).status == FAILED


def test_the_affine_step_ties_the_closed_form_to_the_written_one():
    d = registry.build(NAME)
    n = _index(d, "learned affine part")
    lhs, rhs = d.steps[n].lhs, d.steps[n].rhs  # LayerNorm(x, γ, β, ε) = γ ⊙ LN(x, ε) + β
    x, gamma, beta, eps = lhs.args
    args, row = d.closed_forms(4)["layer_norm"]
    assert sp.simplify(lhs.doit() - row.xreplace(dict(zip(args, (x, gamma, beta, eps))))) == sp.zeros(1, 4)
    wrong = replace(d.steps[n], rhs=sp.MatAdd(rhs, beta))  # β added twice
    report = check(replace(d, steps=d.steps[:n] + (wrong,) + d.steps[n + 1:]))
    assert report.result_for("step", n + 1).status == FAILED
