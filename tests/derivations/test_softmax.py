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
    i, j = sp.symbols("i j", integer=True, positive=True)
    n = sp.Symbol("n", integer=True, positive=True)
    c = sp.Symbol("c", real=True)
    lhs = sp.exp(x[i] + c) / sp.Sum(sp.exp(x[j] + c), (j, 1, n))
    wrong = sp.exp(x[i] + c) / sp.Sum(sp.exp(x[j]), (j, 1, n))  # forgot to shift the denominator
    assert check_step(lhs, Step(rhs=wrong, why="wrong"), seed="t")[0] == "failed"
