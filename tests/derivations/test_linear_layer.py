"""`linear-layer`: every step proved; the closed form against numpy's x Wᵀ + b; a wrong composed bias fails."""
from __future__ import annotations

import numpy as np
import sympy as sp

from explainer import registry
from explainer.check import ASSUMED, FAILED, PROVED, check, check_step
from explainer.model import Step


def test_every_step_is_proved_or_assumed():
    report = check(registry.build("linear-layer"))
    assert report.ok
    assert all(r.status in (PROVED, ASSUMED) for r in report.results)
    assert report.result_for("step", 5).status == PROVED  # the stack distributes …
    assert report.result_for("step", 6).status == PROVED  # … and collapses to one layer


def test_closed_form_is_torch_linear_layout():
    rng = np.random.default_rng(3)
    args, expr = registry.build("linear-layer").closed_forms(d_in=3, d_out=2)["linear"]
    assert [a.shape for a in args] == [(1, 3), (2, 3), (1, 2)]
    x, W, b = rng.normal(size=(1, 3)), rng.normal(size=(2, 3)), rng.normal(size=(1, 2))
    expected = [[sum(W[o, k] * x[0, k] for k in range(3)) + b[0, o] for o in range(2)]]  # neuron by neuron
    assert np.allclose(sp.lambdify(args, expr, "numpy")(x, W, b), expected, rtol=1e-13)


def test_a_stack_with_the_wrong_bias_fails():
    W1, x, b1 = sp.MatrixSymbol("W_1", 2, 3), sp.MatrixSymbol("x", 3, 1), sp.MatrixSymbol("b_1", 2, 1)
    W2, b2 = sp.MatrixSymbol("W_2", 2, 2), sp.MatrixSymbol("b_2", 2, 1)
    stacked = W2 * (W1 * x + b1) + b2
    assert check_step(stacked, Step(rhs=W2 * W1 * x + W2 * b1 + b2, why="right"), seed="ok")[0] == PROVED
    assert check_step(stacked, Step(rhs=W2 * W1 * x + b1 + b2, why="forgot W₂"), seed="bad")[0] == FAILED
