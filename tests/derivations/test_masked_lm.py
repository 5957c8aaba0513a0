"""`masked-language-modeling`: the 12 / 1.5 / 1.5 / 85 % split, against Fractions and a simulation."""
from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import numpy as np
import sympy as sp

from explainer import registry
from explainer.check import FAILED, PROVED, check

NAME = "masked-language-modeling"


def test_report_ok_and_every_checked_step_proved():
    report = check(registry.build(NAME))
    assert report.ok
    assert all(r.status in (PROVED, "assumed") for r in report.results)
    assert report.result_for("result", 1).status == PROVED


def test_result_fractions_match_fraction_arithmetic():
    d = registry.build(NAME)
    s, mask, rand, keep = Fraction(15, 100), Fraction(8, 10), Fraction(1, 10), Fraction(1, 10)
    want = [s * mask, s * rand, s * keep, 1 - s]
    assert [Fraction(int(v.p), int(v.q)) for v in d.result.rhs] == want
    assert want == [Fraction(12, 100), Fraction(15, 1000), Fraction(15, 1000), Fraction(85, 100)]


def test_a_simulated_corpus_has_those_fractions():
    rng = np.random.default_rng(7)
    n = 1_000_000
    selected = rng.random(n) < 0.15
    action = rng.random(n)
    observed = [np.mean(selected & (action < 0.8)), np.mean(selected & (action >= 0.8) & (action < 0.9)),
                np.mean(selected & (action >= 0.9)), np.mean(~selected)]
    expected = [float(v) for v in registry.build(NAME).result.rhs]
    np.testing.assert_allclose(observed, expected, atol=2e-3)


def test_probabilities_that_do_not_add_up_fail():
    d = registry.build(NAME)
    keep = d.steps[3]  # u := 10 %
    broken = replace(d, steps=d.steps[:3] + (replace(keep, rhs=sp.Rational(20, 100)),) + d.steps[4:])
    report = check(broken)
    assert report.result_for("step", 5).status == FAILED  # a + r + u = 1
    assert report.result_for("step", 6).status == PROVED  # the [MASK] fraction does not involve u
