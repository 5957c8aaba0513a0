"""The step checker: exactly four statuses, and a wrong step is caught and named."""
from __future__ import annotations

import random
import re
from dataclasses import replace

import pytest
import sympy as sp

from explainer import registry
from explainer.check import (ASSUMED, FAILED, NUMERIC, PROVED, STATUSES, _random_value, check, check_step,
                             evaluate_at_random_point)
from explainer.model import Derivation, Step, define, numeric, prove
from explainer.operators import ScalarOperator

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


# --- every rule, with a case it must reject ----------------------------------------------------
def test_numeric_tolerance_is_relative_1e_30():
    assert status(x, Step(rhs=x + sp.Rational(1, 10**40), why="below tolerance", check=numeric()))[0] == NUMERIC
    assert status(x, Step(rhs=x + sp.Rational(1, 10**20), why="above tolerance", check=numeric()))[0] == FAILED
    big = Step(rhs=10**40 * (x + 5) + 1, why="1 in 10⁴⁰ of the size", check=numeric())
    assert status(10**40 * (x + 5), big)[0] == NUMERIC


@pytest.mark.parametrize("kind", ["prove", "numeric"])
@pytest.mark.parametrize("rel, holds", [("<", True), ("<=", True), (">", False), (">=", False)])
def test_each_relation_and_its_direction(kind, rel, holds):
    how = prove() if kind == "prove" else numeric()
    expected = (PROVED if kind == "prove" else NUMERIC) if holds else FAILED
    assert status(-(x**2) - 1, Step(rel=rel, rhs=0, why="negative", check=how))[0] == expected
    flipped = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}[rel]
    assert status(x**2 + 1, Step(rel=flipped, rhs=0, why="positive", check=how))[0] == expected


@pytest.mark.parametrize("kind", ["prove", "numeric"])
def test_strict_inequality_fails_at_equality_non_strict_holds(kind):
    how = prove() if kind == "prove" else numeric()
    lhs, rhs = (x + 1) ** 2, x**2 + 2 * x + 1  # equal everywhere, written differently
    for rel in ("<", ">"):
        assert status(lhs, Step(rel=rel, rhs=rhs, why="strict at equality", check=how))[0] == FAILED
    for rel in ("<=", ">="):
        assert status(lhs, Step(rel=rel, rhs=rhs, why="non-strict", check=how))[0] != FAILED


def test_a_provable_non_strict_inequality_is_proved_not_sampled():
    assert status(-(t**2), Step(rel="<=", rhs=0, why="minus a square", check=prove()))[0] == PROVED
    assert status(t**2, Step(rel=">=", rhs=0, why="a square", check=prove()))[0] == PROVED
    assert status(t, Step(rel="<", rhs=t + 1, why="one more", check=prove()))[0] == PROVED


def test_numeric_label_says_whether_sympy_tried():
    sampled = status(sp.cos(x) ** 2, Step(rhs=1 - sp.sin(x) ** 2, why="sampled", check=numeric(6)))
    assert sampled[0] == NUMERIC and sampled[2] == 6 and not sampled[1].startswith("SymPy")
    assert "6 random points" in sampled[1]


def test_named_operators_are_expanded_and_the_expansion_is_recorded():
    from explainer.operators import Softmax

    v, c = sp.MatrixSymbol("x", 1, 3), sp.Symbol("c", real=True)
    shifted = sp.MatAdd(v, c * sp.ones(1, 3), evaluate=False)
    result, detail, *_ = status(Softmax(shifted), Step(rhs=Softmax(v), why="shift invariance"))
    assert result == PROVED and detail.startswith("SymPy: doit")
    assert status(Softmax(2 * v), Step(rhs=Softmax(v), why="not scale invariant"))[0] == FAILED


def derivation_of(*steps, result=None, example=()):
    result = result or Step(lhs=x * (x + 1), rhs=x**2 + x, why="filler")
    return Derivation(steps=steps, result=result, example=example, summary="test", name="test")


@pytest.mark.parametrize("section", ["step", "result", "example"])
def test_a_step_with_identical_sides_fails_check(section):
    vacuous = Step(lhs=sp.exp(x) + y, rhs=sp.exp(x) + y, why="the same thing twice")
    fine = Step(lhs=(x + 1) ** 2, rhs=x**2 + 2 * x + 1, why="fine")
    d = {"step": derivation_of(vacuous, result=fine), "result": derivation_of(fine, result=vacuous),
         "example": derivation_of(fine, result=fine, example=(vacuous,))}[section]
    report = check(d)
    assert not report.ok
    (failure,) = report.failures
    assert failure.section == section and "same as written" in failure.detail and "write the side" in failure.detail


def test_a_chain_link_repeating_its_left_side_fails_and_assumptions_are_exempt():
    d = derivation_of(Step(lhs=x * (x + 1), rhs=x**2 + x, why="expand"), Step(rhs=x**2 + x, why="again"),
                      result=define(y, y, "y stands for itself"))
    report = check(d)
    assert [r.status for r in report.results] == [PROVED, FAILED, FAILED]  # the define is unused, not vacuous
    assert "same as written" in report.results[1].detail and "defined but" in report.results[2].detail


def test_numeric_steps_with_identical_sides_fail_too():
    d = derivation_of(Step(lhs=sp.cos(x), rhs=sp.cos(x), why="sampled tautology", check=numeric()))
    assert "same as written" in check(d).failures[0].detail


def test_an_unused_definition_fails_and_a_used_one_does_not():
    s, u = sp.Symbol("s"), sp.Symbol("u")
    used_in_where = Step(lhs=u + 1, rhs=x + 2, why="u is used here", where=((u, s + 1),))
    d = derivation_of(define(s, x, "s is x"), define(sp.Symbol("w"), y, "never used"), used_in_where)
    report = check(d)
    assert [r.label for r in report.failures] == ["step 2"]
    assert "'w' is defined but" in report.failures[0].detail


def test_an_indexed_definition_counts_as_used_at_other_indices():
    j = sp.Symbol("j", integer=True)
    d = derivation_of(define(a[i], x * i, "a_i = x·i"), Step(lhs=a[j] + a[j], rhs=2 * j * x, why="at j"))
    assert check(d).ok


def test_a_step_that_raises_is_a_failure_not_a_crash():
    result, detail, *_ = status(sp.MatrixSymbol("A", 2, 2), Step(rhs=sp.MatrixSymbol("B", 3, 3), why="shapes"))
    assert result == FAILED and "could not be checked" in detail


def test_sides_that_print_the_same_are_the_same_as_written():
    plain, positive = sp.Symbol("z"), sp.Symbol("z", positive=True)  # unequal to SymPy, identical on the page
    report = check(derivation_of(Step(lhs=plain + 1, rhs=positive + 1, why="looks the same")))
    assert "same as written (z + 1)" in report.failures[0].detail


def test_a_long_vacuous_side_is_shortened_in_the_message():
    long = sp.Add(*(sp.Symbol(f"x_{k}") for k in range(40)))
    detail = check(derivation_of(Step(lhs=long, rhs=long, why="long"))).failures[0].detail
    side = detail[detail.index("(") + 1:detail.index("), so")]
    assert side.endswith("…") and len(side) == 60


@pytest.mark.parametrize("later, used", [("a[j]", True), ("b[j]", False), ("f(y)", True), ("g(y)", False)])
def test_indexed_and_function_definitions_count_as_used_at_other_arguments(later, used):
    f, g, b = sp.Function("f"), sp.Function("g"), sp.IndexedBase("b")
    j = sp.Symbol("j", integer=True)
    later_expr = {"a[j]": a[j], "b[j]": b[j], "f(y)": f(y), "g(y)": g(y)}[later]
    definition = define(a[i], x * i, "a_i") if later.endswith("[j]") else define(f(x), x**2, "f")
    d = derivation_of(definition, Step(lhs=later_expr * (x + 1), rhs=later_expr * x + later_expr, why="expand"))
    failures = [r.label for r in check(d).failures]
    assert failures == ([] if used else ["step 1"])


def test_a_chain_that_starts_without_a_left_side_fails_cleanly():
    s = sp.Symbol("s")
    d = derivation_of(define(s, x, "s"), example=(Step(rhs=s + 1, why="the example has no left side"),))
    report = check(d)
    assert report.result_for("example", 1).status == FAILED
    assert "nothing to compare with" in report.result_for("example", 1).detail


def test_sums_method_renames_indices_and_pulls_out_constant_factors():
    j = sp.Symbol("j", integer=True, positive=True)
    renamed = Step(rhs=sp.Sum(a[j], (j, 1, n)), why="rename", check=prove("sums"))
    assert status(sp.Sum(a[i], (i, 1, n)), renamed) == (PROVED, "SymPy: sums", None, None)
    factored = Step(rhs=x * sp.Sum(a[j], (j, 1, n)), why="pull out x", check=prove("sums"))
    assert status(sp.Sum(x * a[i], (i, 1, n)), factored) == (PROVED, "SymPy: sums", None, None)


def test_check_seeds_each_step_by_name_and_position_and_times_it():
    step = Step(lhs=sp.cos(x) ** 2, rhs=1 + sp.sin(x) ** 2, why="wrong, fails at a random point", check=numeric(5))
    d = replace(derivation_of(step), name="seeded")
    report = check(d)
    assert report.name == "seeded"
    assert report.results[0].detail == check_step(step.lhs, step, seed="seeded/step/1")[1]  # "differs at x = …"
    assert report.results[0].detail != check_step(step.lhs, step, seed="other/step/1")[1]
    assert all(0 < r.seconds < 60 for r in report.results)
    assert sum(r.seconds for r in report.results) <= report.seconds < 60


# --- what the messages and the sampler promise (from a mutation run over explainer/check.py) ----
class Sq(ScalarOperator):
    """A scalar operator for tests: ``Sq(u) = u²``."""

    name, latex_name = "Sq", r"\operatorname{Sq}"

    def expand(self, u):
        return u**2


def test_scalar_operators_are_expanded_first_and_a_wrong_one_fails():
    assert status(Sq(x + 1), Step(rhs=x**2 + 2 * x + 1, why="square", check=prove("expand"))) == (
        PROVED, "SymPy: doit → expand", None, None)
    assert status(Sq(x), Step(rhs=x**2 + 1, why="wrong", check=prove("expand")))[0] == FAILED


def test_matrix_operator_expansion_is_prepended_to_the_methods_named():
    from explainer.operators import Softmax

    v, c = sp.MatrixSymbol("x", 1, 3), sp.Symbol("c", real=True)
    shifted = sp.MatAdd(v, c * sp.ones(1, 3), evaluate=False)
    step = Step(rhs=Softmax(v), why="shift invariance", check=prove("expand", "cancel"))
    assert status(Softmax(shifted), step) == (PROVED, "SymPy: doit → expand → cancel", None, None)


def test_proof_details_name_the_rewrites_exactly():
    assert status(sp.exp(x), Step(rel=">", rhs=0, why="positive")) == (PROVED, "SymPy: directly", None, None)
    assert status((x + 1) ** 2, Step(rhs=x**2 + 2 * x + 1, why="square", check=prove("cancel", "expand"))) == (
        PROVED, "SymPy: cancel", None, None)
    A, B, C = (sp.MatrixSymbol(name, 2, 2) for name in "ABC")
    assert status(A * (B + C), Step(rhs=A * B + A * C, why="distribute", check=prove("expand"))) == (
        PROVED, "SymPy: expand", None, None)


def test_a_nonzero_difference_is_not_an_identity():
    for lhs, rhs in ((x + 1, x), (x**2 + 1, sp.Integer(0)), (x**2 + 1, sp.Integer(1))):
        assert status(lhs, Step(rhs=rhs, why="wrong", check=prove("expand")))[0] == FAILED


def test_a_symbolic_size_matrix_identity_is_proved_not_sampled():
    A, B = sp.MatrixSymbol("A", n, n), sp.MatrixSymbol("B", n, n)
    assert status((A * B).T, Step(rhs=B.T * A.T, why="transpose of a product"))[0] == PROVED


def test_a_numeric_check_draws_the_sizes_of_matrix_symbols():
    A = sp.MatrixSymbol("A", n, n)
    step = Step(rhs=A.T * A.T, why="sampled at random sizes", check=numeric(4, n=(1, 3)))
    assert status((A * A).T, step)[0] == NUMERIC


def test_fixed_messages_read_exactly_so():
    assert status(None, define(x, y, "a definition")) == (ASSUMED, "definition or assumption", None, None)
    first = status(None, Step(rhs=x, why="no left side"))
    assert first[1] == "nothing to compare with: the first step of a chain needs a left-hand side"
    f = sp.Function("f")
    unevaluable = status(f(x), Step(rhs=sp.Integer(1), why="f is unknown"))
    assert unevaluable[0] == FAILED
    assert unevaluable[1].startswith("could not be checked: ValueError: expression still has symbols")
    assert re.search(r"after substitution: -1\.0+$", status(f(x), Step(rhs=f(x) + 1, why="f is unknown"))[1])


def test_a_counterexample_names_the_point_with_6_digits_and_the_sides_with_8():
    result, detail, *_ = status(x, Step(rhs=x + 1, why="off by one", check=numeric(3)))
    assert result == FAILED
    point, left, right = re.fullmatch(r"differs at x = (\S+): left (\S+), right (\S+)", detail).groups()
    assert [significant_digits(v) for v in (point, left, right)] == [6, 8, 8], detail


def significant_digits(number: str) -> int:
    return len(number.lstrip("-").replace(".", "").lstrip("0"))


def test_a_counterexample_lists_eight_values_then_how_many_more():
    many = sp.symbols("u0:10", real=True)
    detail = status(sp.Add(*many), Step(rhs=sp.Add(*many) + 1, why="off by one", check=numeric(2)))[1]
    assert detail.count(" = ") == 8 and ", … (2 more):" in detail
    k = sp.Symbol("k", integer=True)
    assert re.search(r"k = -?\d, ", status(k * x, Step(rhs=k * x + 1, why="wrong", check=numeric(2)))[1])


def test_a_numeric_inequality_reports_no_difference():
    assert status(x**2 + 1, Step(rel=">", rhs=0, why="positive", check=numeric(4)))[3] == 0.0


def test_tolerance_scale_has_a_floor_of_one_and_grows_with_the_sides():
    tiny = sp.Rational(1, 10**35) * (1 + x**2)
    assert status(tiny, Step(rhs=0, why="below the absolute floor", check=numeric()))[0] == NUMERIC
    small = Step(rhs=x + sp.Rational(3, 2 * 10**30), why="1.5e-30 at scale ≤ 1", check=numeric(x=(0, 0.5)))
    assert status(x, small)[0] == FAILED
    huge = 10**40 * (x + 5)
    assert status(huge + 1, Step(rel=">", rhs=huge, why="equal within rounding", check=numeric()))[0] == FAILED
    assert status(huge - 1, Step(rel=">=", rhs=huge, why="equal within rounding", check=numeric()))[0] == NUMERIC


def test_an_exactly_60_character_side_is_not_shortened():
    name = sp.Symbol("a" * 60)
    detail = check(derivation_of(Step(lhs=name, rhs=name, why="long name"))).failures[0].detail
    assert f"({'a' * 60})" in detail


def draws(atom, count=300, **ranges):
    rng = random.Random(1)
    return [_random_value(atom, rng, ranges) for _ in range(count)]


@pytest.mark.parametrize("atom, lo, hi", [
    (sp.Symbol("r", real=True), -3, 3), (sp.Symbol("p", positive=True), 0.1, 3),
    (sp.Symbol("q", nonnegative=True), 0, 3), (sp.IndexedBase("w", positive=True)[i], 0.1, 3),
])
def test_random_values_fill_their_interval_with_50_digits(atom, lo, hi):
    values = draws(atom)
    assert all(lo <= v <= hi for v in values)
    width = hi - lo
    assert min(values) < lo + 0.05 * width and max(values) > hi - 0.05 * width
    assert all(v._prec >= 160 for v in values) and len({sp.N(v, 30) for v in values}) == len(values)


def test_random_values_follow_ranges_by_name_or_by_base_and_integers_stay_integers():
    r, k = sp.Symbol("r", real=True), sp.Symbol("k", integer=True)
    assert all(5 <= v <= 6 for v in draws(r, 50, r=(5, 6)))
    assert all(7 <= v <= 8 for v in draws(a[i], 50, a=(7, 8)))
    M = sp.MatrixSymbol("M", 2, 2)
    assert all(-2 <= v <= -1 for v in draws(M[0, 1], 50, M=(-2, -1)))
    ints = draws(k, 200, k=(2, 4))
    assert all(v.is_Integer for v in ints) and set(ints) == {2, 3, 4}


def test_sizes_are_drawn_from_one_to_five_unless_ranged():
    rng = random.Random(3)
    m = sp.Symbol("m", integer=True, positive=True)
    j = sp.Symbol("j", integer=True)
    seen_m, seen_j = set(), set()
    for _ in range(200):
        point, *_ = evaluate_at_random_point(m * x, j * x, rng, {})
        seen_m.add(point[m]), seen_j.add(point[j])
    assert seen_m == {1, 2, 3, 4, 5} and seen_j == set(range(-5, 6))
    point, *_ = evaluate_at_random_point(m * x, m * x, rng, {"m": (9, 9)})
    assert point[m] == 9


def test_entries_of_indexed_and_matrix_symbols_get_values():
    M = sp.MatrixSymbol("M", 2, 2)
    point, left, right = evaluate_at_random_point(a[1] + M[0, 1], sp.Integer(0), random.Random(4), {})
    assert set(point) == {a[1], M[0, 1]} and left[0] == point[a[1]] + point[M[0, 1]]


def test_operators_on_one_side_only_are_expanded_and_recorded():
    from explainer.operators import Softmax

    row = sp.ImmutableMatrix([[x, 0]])
    logistic = sp.ImmutableMatrix([[1 / (1 + sp.exp(-x)), sp.exp(-x) / (1 + sp.exp(-x))]])
    assert status(Softmax(row), Step(rhs=logistic, why="two scores", check=prove("cancel"))) == (
        PROVED, "SymPy: doit → cancel", None, None)
    assert status(logistic, Step(rhs=Softmax(row), why="two scores", check=prove("cancel"))) == (
        PROVED, "SymPy: doit → cancel", None, None)
    assert status(Sq(x + 1), Step(rhs=x**2 + 2 * x + 1, why="doit named once", check=prove("doit", "expand"))) == (
        PROVED, "SymPy: doit → expand", None, None)


@pytest.mark.parametrize("count, suffix", [(8, ":"), (9, ", … (1 more):")])
def test_the_more_suffix_starts_after_eight_values(count, suffix):
    many = sp.symbols(f"u0:{count}", real=True)
    detail = status(sp.Add(*many), Step(rhs=sp.Add(*many) + 1, why="off by one", check=numeric(2)))[1]
    assert re.search(r"\d" + re.escape(suffix) + " left", detail), detail


def test_a_counterexample_without_symbols_says_only_the_values():
    detail = status(sp.Integer(1), Step(rhs=sp.Integer(2), why="1 = 2", check=numeric(2)))[1]
    assert detail == "differs: left 1.0000000, right 2.0000000"
    sampled = status(sp.cos(x) ** 2, Step(rhs=1 - sp.sin(x) ** 2, why="sampled", check=numeric(3)))[1]
    assert sampled.startswith("agrees at 3 random points (50 digits)")


def test_every_integer_symbol_is_drawn_with_the_matrix_sizes():
    A, k = sp.MatrixSymbol("A", n, n), sp.Symbol("k", integer=True)
    step = Step(rhs=k * A.T * A.T, why="k and n both drawn", check=numeric(3, n=(1, 3)))
    assert status(k * (A * A).T, step)[0] == NUMERIC
    j = sp.Symbol("j", integer=True, nonnegative=True)
    rng = random.Random(5)
    assert {evaluate_at_random_point(j * x, x, rng, {})[0][j] for _ in range(100)} == {1, 2, 3, 4, 5}


def test_a_range_by_an_entrys_own_name_wins_over_its_bases():
    assert all(7 <= v <= 8 for v in draws(a[1], 50, a=(0, 1), **{"a[1]": (7, 8)}))
    assert all(0 <= v <= 1 for v in draws(a[2], 50, a=(0, 1), **{"a[1]": (7, 8)}))
