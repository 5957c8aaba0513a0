"""`embeddings`: the lookup proved; the closed form picks a row of E; cosine values against plain Python."""
from __future__ import annotations

import math

import numpy as np
import sympy as sp

from explainer.derivations.embeddings import E_EXAMPLE, VOCAB, cosine
from explainer import registry
from explainer.check import ASSUMED, FAILED, NUMERIC, PROVED, check, check_step
from explainer.model import Step


def test_lookup_proved_and_only_cauchy_schwarz_numeric():
    report = check(registry.build("embeddings"))
    assert report.ok
    numeric = [r.label for r in report.results if r.status == NUMERIC]
    assert numeric == ["step 8"]  # |cos| ≤ 1: Cauchy–Schwarz, checked at random points and labelled so
    assert all(r.status in (PROVED, ASSUMED) for r in report.results if r.label != "step 8")
    assert report.result_for("result", 1).status == PROVED


def test_closed_form_is_a_row_lookup():
    args, expr = registry.build("embeddings").closed_forms(V=5, d=3)["lookup"]
    f = sp.lambdify(args, expr, "numpy")
    E = np.random.default_rng(4).normal(size=(5, 3))
    for t in range(5):
        onehot = np.eye(5)[[t]]
        assert np.array_equal(np.asarray(f(onehot, E), dtype=float).ravel(), E[t])


def test_the_wrong_row_fails():
    t, r, j, c = sp.symbols("t r j c", integer=True, nonnegative=True)
    E = sp.MatrixSymbol("E", sp.Symbol("V", integer=True, positive=True), 3)
    lookup = sp.Sum(sp.KroneckerDelta(j, t) * E[j, c], (j, 0, t + r))
    assert check_step(lookup, Step(rhs=E[t + 1, c], why="off by one"), seed="e")[0] == FAILED


def test_example_cosines_match_plain_python():
    rows = {w: [float(x) for x in E_EXAMPLE.row(k)] for k, w in enumerate(VOCAB)}

    def cos(u, v):
        return sum(a * b for a, b in zip(u, v)) / (math.hypot(*u) * math.hypot(*v))

    for other in ("river", "money", "the"):
        exact = cosine(E_EXAMPLE.row(VOCAB.index("bank")), E_EXAMPLE.row(VOCAB.index(other)))
        assert math.isclose(float(exact), cos(rows["bank"], rows[other]), abs_tol=1e-15)


def test_scaling_one_vector_changes_the_cosine_if_the_scale_is_kept():
    """cos(αu, v) = cos(u, v) is proved; cos(αu, v) = α·cos(u, v) (the scale not cancelled) fails."""
    from dataclasses import replace

    d = registry.build("embeddings")
    n = next(k for k, s in enumerate(d.steps) if s.why.startswith("scaling u by α"))
    alpha = sp.Symbol("alpha", positive=True)
    wrong = replace(d.steps[n], rhs=alpha * d.steps[n].rhs)
    report = check(replace(d, steps=d.steps[:n] + (wrong,) + d.steps[n + 1:]))
    assert report.result_for("step", n + 1).status == FAILED
    assert str(d.steps[n].lhs) == "cos(alpha*u, v)"  # written as meant, expanded only by the checker
