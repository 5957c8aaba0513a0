"""`dot-product`: every step checks, and the closed form agrees with plain Python and with geometry."""
from __future__ import annotations

import math
import random

import numpy as np
import sympy as sp

from explainer import registry
from explainer.check import ASSUMED, NUMERIC, PROVED, check


def test_steps_are_proved_or_honestly_numeric():
    d = registry.build("dot-product")
    report = check(d)
    assert report.ok
    statuses = {r.label: r.status for r in report.results}
    assert statuses["step 7"] == PROVED  # q·k = ‖q‖‖k‖cos θ
    assert statuses["step 14"] == PROVED  # the 2-D angle subtraction
    assert statuses["step 4"] == NUMERIC  # Lagrange's identity for symbolic d: labelled, not claimed
    assert all(r.status in (PROVED, ASSUMED, NUMERIC) for r in report.results)


def test_closed_form_is_the_sum_of_products():
    rng = random.Random(0)
    for width in (1, 3, 8):
        args, expr = registry.build("dot-product").closed_forms(d=width)["dot"]
        f = sp.lambdify(args, expr, "numpy")
        q = [rng.uniform(-2, 2) for _ in range(width)]
        k = [rng.uniform(-2, 2) for _ in range(width)]
        expected = math.fsum(a * b for a, b in zip(q, k))
        assert math.isclose(f(np.array([q]), np.array([k])), expected, rel_tol=1e-12, abs_tol=1e-12)


def test_geometric_form_matches_angles_in_the_plane():
    rng = random.Random(1)
    f = sp.lambdify(*registry.build("dot-product").closed_forms(d=2)["dot"], "numpy")
    for _ in range(20):
        a, b, r1, r2 = rng.uniform(0, 6.28), rng.uniform(0, 6.28), rng.uniform(0.1, 3), rng.uniform(0.1, 3)
        q = np.array([[r1 * math.cos(a), r1 * math.sin(a)]])
        k = np.array([[r2 * math.cos(b), r2 * math.sin(b)]])
        assert math.isclose(f(q, k), r1 * r2 * math.cos(a - b), abs_tol=1e-12)


def test_worked_example_numbers_come_from_sympy():
    d = registry.build("dot-product")
    first = d.example[0]
    assert first.rhs == sp.ImmutableMatrix([[3 * 2 + 1 * 4]])
    assert f"= {3 * 2 + 1 * 4}" in first.why


def test_the_result_ties_the_sum_to_the_geometric_form_and_a_wrong_scale_fails():
    from dataclasses import replace

    from explainer.check import FAILED

    d = registry.build("dot-product")
    assert d.result.lhs.has(sp.cos) and isinstance(d.result.rhs, sp.Sum)  # ‖q‖‖k‖cos θ = Σ qᵢkᵢ, not q·k = Σ qᵢkᵢ
    n = next(j for j, s in enumerate(d.steps) if s.why.startswith("size matters"))
    wrong = replace(d.steps[n], rhs=2 * d.steps[n].rhs)  # 4(q·k) instead of 2(q·k)
    report = check(replace(d, steps=d.steps[:n] + (wrong,) + d.steps[n + 1:]))
    assert report.result_for("step", n + 1).status == FAILED
