"""`softmax-scaling`: Var[q·k] = d_k by linearity and independence; the Jacobian; saturation."""
from __future__ import annotations

import itertools
import random
from dataclasses import replace

import mpmath
import numpy as np
import pytest
import sympy as sp

from explainer import registry
from explainer.check import ASSUMED, FAILED, PROVED, check

NAME = "softmax-scaling"


def _step_index(d, text: str) -> int:
    """Index of the first step whose justification contains ``text``."""
    return next(n for n, s in enumerate(d.steps) if text in s.why)


def test_every_step_is_proved_or_assumed():
    d = registry.build(NAME)
    report = check(d)
    assert report.ok
    assert all(r.status in (PROVED, ASSUMED) for r in report.results)
    for text in ("variance grows with the width", "Var[cX] = c² Var[X]", "J = diag(p) − ppᵀ", "saturation"):
        assert report.result_for("step", _step_index(d, text) + 1).status == PROVED


def test_variance_is_d_k_by_exact_enumeration_of_coin_flips():
    for d_k in (1, 2, 3, 4):
        (_, variance) = registry.build(NAME).closed_forms(d_k)["variance"]
        scores = [sum(a * b for a, b in zip(qv, kv))
                  for qv in itertools.product((-1, 1), repeat=d_k) for kv in itertools.product((-1, 1), repeat=d_k)]
        mean = sum(scores) / len(scores)
        assert mean == 0
        assert int(variance) == sum(s * s for s in scores) / len(scores) == d_k


def test_variance_matches_gaussian_samples_and_scaling_restores_one():
    rng = np.random.default_rng(0)
    for d_k in (16, 64):
        q, k = rng.standard_normal((2, 40_000, d_k))
        scores = (q * k).sum(axis=1)
        (_, variance) = registry.build(NAME).closed_forms(d_k)["variance"]
        assert abs(scores.var() / int(variance) - 1) < 0.05
        assert abs((scores / np.sqrt(d_k)).var() - 1) < 0.05


def test_jacobian_closed_form_matches_mpmath_derivatives():
    rng = random.Random(3)
    mpmath.mp.dps = 30
    for n in (2, 4):
        args, expr = registry.build(NAME).closed_forms(8, n=n)["jacobian"]
        f = sp.lambdify(args, expr, "numpy")
        x = [rng.uniform(-3, 3) for _ in range(n)]
        got = np.asarray(f(np.array([x])), dtype=float)
        for a in range(n):
            for b in range(n):
                def p_a(t, a=a, b=b):
                    xs = [mpmath.mpf(v) for v in x]
                    xs[b] = t
                    return mpmath.exp(xs[a]) / mpmath.fsum(mpmath.exp(v) for v in xs)
                assert got[a, b] == pytest.approx(float(mpmath.diff(p_a, x[b])), abs=1e-12)


def test_jacobian_closed_form_matches_torch_autograd():
    torch = pytest.importorskip("torch", reason="torch is the autograd oracle")
    args, expr = registry.build(NAME).closed_forms(8, n=5)["jacobian"]
    f = sp.lambdify(args, expr, "numpy")
    x = torch.tensor([[0.3, -1.2, 2.0, 0.0, 40.0]], dtype=torch.float64)
    want = torch.autograd.functional.jacobian(lambda v: torch.softmax(v, dim=-1), x).reshape(5, 5)
    np.testing.assert_allclose(np.asarray(f(x.numpy()), dtype=float), want.numpy(), rtol=1e-7, atol=1e-12)


def test_a_variance_of_d_k_squared_fails_at_that_step():
    d = registry.build(NAME)
    n = _step_index(d, "variance grows with the width")
    d_k = d.steps[n].rhs
    broken = replace(d, steps=d.steps[:n] + (replace(d.steps[n], rhs=d_k**2),) + d.steps[n + 1:])
    report = check(broken)
    assert [r.label for r in report.failures] == [f"step {n + 1}"]


def test_a_jacobian_with_the_wrong_sign_fails():
    d = registry.build(NAME)
    n = _step_index(d, "J = diag(p) − ppᵀ")
    diag, outer = d.steps[n].rhs.args
    wrong = sp.MatAdd(diag, -outer) if isinstance(outer, sp.MatMul) else sp.MatAdd(-diag, outer)
    broken = replace(d, steps=d.steps[:n] + (replace(d.steps[n], rhs=wrong),) + d.steps[n + 1:])
    assert check(broken).result_for("step", n + 1).status == FAILED


def test_saturation_limit_is_not_a_quarter():
    d = registry.build(NAME)
    n = _step_index(d, "saturation")
    broken = replace(d, steps=d.steps[:n] + (replace(d.steps[n], rhs=sp.Rational(1, 4)),) + d.steps[n + 1:])
    assert check(broken).result_for("step", n + 1).status == FAILED


def test_bad_sizes_are_usage_errors():
    from explainer.errors import UsageError

    with pytest.raises(UsageError):
        registry.build(NAME).closed_forms(0)


def test_the_named_moments_are_used_so_a_wrong_one_fails_downstream():
    d = registry.build(NAME)
    n = _step_index(d, "and m₂ = E[(qᵢkᵢ)²]")
    broken = replace(d, steps=d.steps[:n] + (replace(d.steps[n], rhs=sp.Integer(2)),) + d.steps[n + 1:])
    failed = {r.label for r in check(broken).failures}
    assert f"step {_step_index(d, 'variance grows with the width') + 1}" in failed and "result 1" in failed


def test_the_worked_jacobian_entry_is_a_derivative_at_a_point_not_a_restatement():
    example = registry.build(NAME).example
    entry = next(s for s in example if "∂p₀/∂x₀ = p₀(1 − p₀)" in s.why)
    assert isinstance(entry.lhs, sp.Subs) and not entry.rhs.has(sp.Derivative)
    assert check(registry.build(NAME)).ok


def test_components_and_scores_count_from_zero_as_in_pytorch():
    d = registry.build(NAME)
    (total,) = d.steps[0].rhs.atoms(sp.Sum)
    (_, low, high), = total.limits
    assert (low, high) == (0, sp.Symbol("d_k", integer=True, positive=True) - 1)
    entry = next(s for s in d.example if "∂p₀/∂x₀" in s.why)
    x = sp.IndexedBase("x", real=True)
    assert entry.lhs.variables == (x[0], x[1], x[2]) and entry.lhs.point == (2, 1, 0)  # x₀ = 2, the largest
