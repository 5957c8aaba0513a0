"""`softmax`: every step proved; the closed form against mpmath; broken twins fail."""
from __future__ import annotations

import random

import mpmath
import numpy as np
import sympy as sp

from explainer import registry
from explainer.check import ASSUMED, PROVED, check, check_step
from explainer.model import Step


def test_every_step_is_proved_or_assumed():
    report = check(registry.build("softmax"))
    assert report.ok
    assert all(r.status in (PROVED, ASSUMED) for r in report.results)
    assert [r.status for r in report.results if r.section == "step"].count(ASSUMED) == 1  # only the definition


def test_closed_form_matches_mpmath_including_large_scores():
    rng = random.Random(2)
    for n in (1, 2, 5):
        args, expr = registry.build("softmax").closed_forms(n=n)["softmax"]
        f = sp.lambdify(args, expr, "numpy")
        for scale in (1, 50, 800):  # 800 overflows a naive float64 exp
            x = [rng.uniform(-scale, scale) for _ in range(n)]
            got = np.asarray(f(np.array([x])), dtype=float).ravel()
            mpmath.mp.dps = 40
            total = mpmath.fsum(mpmath.exp(v) for v in x)
            expected = [float(mpmath.exp(v) / total) for v in x]
            assert np.allclose(got, expected, rtol=1e-12, atol=1e-300)


def test_a_wrong_shift_rule_fails():
    x = sp.IndexedBase("x", real=True)
    i, j = sp.symbols("i j", integer=True, nonnegative=True)
    n = sp.Symbol("n", integer=True, positive=True)
    c = sp.Symbol("c", real=True)
    lhs = sp.exp(x[i] + c) / sp.Sum(sp.exp(x[j] + c), (j, 0, n - 1))
    wrong = sp.exp(x[i] + c) / sp.Sum(sp.exp(x[j]), (j, 0, n - 1))  # forgot to shift the denominator
    assert check_step(lhs, Step(rhs=wrong, why="wrong"), seed="t")[0] == "failed"


def test_the_vector_form_reads_softmax_of_a_shifted_row_and_a_scaled_row_fails():
    from explainer.derivations.softmax import Ones
    from explainer.operators import Softmax

    x = sp.MatrixSymbol("x", 1, 3)
    c = sp.Symbol("c", real=True)
    shifted = Softmax(sp.MatAdd(x, sp.MatMul(c, Ones(1, 3), evaluate=False), evaluate=False))
    assert sp.pretty(shifted) == "softmax(x + c⋅𝟙)"
    assert check_step(shifted, Step(rhs=Softmax(x), why="shift"), seed="v")[0] == PROVED
    scaled = Softmax(sp.MatMul(2, x))  # temperature 1/2 is not a shift
    assert check_step(scaled, Step(rhs=Softmax(x), why="wrong"), seed="v")[0] == "failed"


def test_a_wrong_weight_in_the_example_fails_the_step_that_uses_it():
    import dataclasses

    d = registry.build("softmax")
    first = d.example[0]
    wrong = dataclasses.replace(first, rhs=first.rhs * sp.exp(sp.Rational(1, 1000)))
    report = check(dataclasses.replace(d, example=(wrong,) + d.example[1:]))
    assert [r.label for r in report.failures] == ["example 4", "example 5"]


def test_positions_count_from_zero_as_in_pytorch():
    d = registry.build("softmax")
    (total,) = d.steps[0].rhs.atoms(sp.Sum)
    (_, low, high), = total.limits
    assert (low, high) == (0, sp.Symbol("n", integer=True, positive=True) - 1)
    assert [str(s.lhs) for s in d.example[:3]] == ["p_0", "p_1", "p_2"]  # scores (2, 1, 0): p₀ is the largest
