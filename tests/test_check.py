"""The step checker: exactly four statuses, and a wrong step is caught and named."""
from __future__ import annotations

import pytest
import sympy as sp

from explainer import registry
from explainer.check import ASSUMED, FAILED, NUMERIC, PROVED, STATUSES, check, check_step
from explainer.model import Derivation, Step, define, numeric, prove

x, y = sp.symbols("x y", real=True)
t = sp.Symbol("t", positive=True)
n = sp.Symbol("n", integer=True, positive=True)
i = sp.Symbol("i", integer=True, positive=True)
a = sp.IndexedBase("a", real=True)


def status(lhs, step):
    return check_step(lhs, step, seed="test")


def test_the_statuses_are_exactly_the_design_ones():
    assert STATUSES == ("proved", "checked numerically", "assumed", "failed")


def test_identity_is_proved():
    assert status((x + y) ** 2, Step(rhs=x**2 + 2 * x * y + y**2, why="square"))[0] == PROVED


def test_false_identity_fails_with_a_counterexample():
    result, detail, *_ = status((x + y) ** 2, Step(rhs=x**2 + y**2, why="freshman's dream"))
    assert result == FAILED and "differs at" in detail


def test_inequalities_are_proved_or_refuted():
    assert status(sp.exp(x), Step(rel=">", rhs=0, why="exp is positive"))[0] == PROVED
    assert status(t**2, Step(rel=">=", rhs=0, why="square"))[0] == PROVED
    assert status(x**2, Step(rel="<", rhs=-1, why="wrong"))[0] == FAILED


def test_numeric_check_reports_points_and_largest_difference():
    lhs = sp.Sum(a[i], (i, 1, n)) ** 2
    rhs = sp.Sum(sp.Sum(a[i] * a[sp.Symbol("j", integer=True)], (sp.Symbol("j", integer=True), 1, n)), (i, 1, n))
    result, detail, points, worst = status(lhs, Step(rhs=rhs, why="square of a sum", check=numeric(12, n=(1, 4))))
    assert result == NUMERIC and points == 12 and worst < 1e-40
    assert "12 random points" in detail and "largest difference" in detail


def test_numeric_ranges_bound_a_symbol():
    step = Step(rel=">", rhs=0, why="cos is positive on (0, π/2)", check=numeric(theta=(0, 1.57)))
    assert status(sp.cos(sp.Symbol("theta")), step)[0] == NUMERIC
    wide = Step(rel=">", rhs=0, why="not on (0, π)", check=numeric(theta=(0, 3.14)))
    assert status(sp.cos(sp.Symbol("theta")), wide)[0] == FAILED


def test_undecided_step_falls_back_to_numeric_and_says_so():
    lhs = sp.Sum(a[i] ** 2, (i, 1, n))
    rhs = sp.Sum(a[n + 1 - i] ** 2, (i, 1, n))  # the same sum read backwards
    result, detail, *_ = status(lhs, Step(rhs=rhs, why="reverse the order", check=prove("expand")))
    assert result == NUMERIC and detail.startswith("SymPy could not decide")


def test_assumed_and_unevaluable_steps():
    assert status(None, define(x, y, "a definition"))[0] == ASSUMED
    f = sp.Function("f")
    result, detail, *_ = status(f(x), Step(rhs=f(x) + 1, why="undefined function"))
    assert result == FAILED and "could not be checked" in detail


def test_definitions_are_substituted_in_later_steps():
    s = sp.Symbol("s")
    d = Derivation(steps=(define(s, x + 1, "s is x + 1"), Step(lhs=s - 1, rhs=x, why="subtract 1")),
                   result=Step(lhs=s, rhs=1 + x, why="closed form"), summary="s")
    report = check(d)
    assert [r.status for r in report.results] == [ASSUMED, PROVED, PROVED] and report.ok


def test_matrix_steps_are_compared_entrywise():
    A = sp.MatrixSymbol("A", 2, 2)
    assert status((A.T).T, Step(rhs=A, why="transpose twice"))[0] == PROVED
    M = sp.ImmutableMatrix([[x, 1], [0, y]])
    assert status(M * M, Step(rhs=sp.ImmutableMatrix([[x**2, x + y], [0, y**2]]), why="square"))[0] == PROVED
    assert status(M * M, Step(rhs=sp.ImmutableMatrix([[x**2, x], [0, y**2]]), why="wrong"))[0] == FAILED


@pytest.mark.parametrize("kind", ["sign", "scale", "exponent"])
def test_broken_derivation_fails_at_the_broken_step(kind, broken_module):
    registry.import_user_module(broken_module)
    from explainer_user_broken import FAILING_STEP

    good = check(registry.build(f"ok-{kind}"))
    bad = check(registry.build(f"broken-{kind}"))
    assert good.ok and all(r.status in (PROVED, ASSUMED) for r in good.results)
    assert not bad.ok
    assert [r.label for r in bad.failures] == [f"step {FAILING_STEP[kind]}"]


def test_checks_are_deterministic():
    d = registry.build("dot-product")
    assert [r.detail for r in check(d).results] == [r.detail for r in check(d).results]
