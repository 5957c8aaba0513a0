"""`feed-forward`: GELU forms against math.erf / F.gelu, the largest gap, the parameter count."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import sympy as sp

from explainer.derivations.feed_forward import largest_gelu_gap
from explainer import registry
from tests.derivations.steps import step_index as _index
from explainer.check import FAILED, PROVED, check
from explainer.errors import UsageError

NAME = "feed-forward"




def test_report_ok_and_key_steps_proved():
    d = registry.build(NAME)
    report = check(d)
    assert report.ok
    for text in ("cumulative distribution", "largest difference", "row t of the output", "8d² + 5d", "no token sees"):
        assert report.result_for("step", _index(d, text) + 1).status == PROVED, text


def test_gelu_forms_match_plain_python():
    forms = registry.build(NAME).closed_forms(8)
    exact = sp.lambdify(*forms["gelu_erf"], "math")
    approx = sp.lambdify(*forms["gelu_tanh"], "numpy")
    for v in np.linspace(-6, 6, 97):
        assert exact(v) == pytest.approx(v * 0.5 * (1 + math.erf(v / math.sqrt(2))), abs=1e-15)
        want = 0.5 * v * (1 + math.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v**3)))
        assert approx(v) == pytest.approx(want, abs=1e-15)


def test_gelu_forms_match_torch():
    torch = pytest.importorskip("torch", reason="F.gelu is the oracle")
    forms = registry.build(NAME).closed_forms(8)
    x = torch.linspace(-6, 6, 241, dtype=torch.float64)
    exact = np.array([float(sp.lambdify(*forms["gelu_erf"], "math")(float(v))) for v in x])
    approx = sp.lambdify(*forms["gelu_tanh"], "numpy")(x.numpy())
    np.testing.assert_allclose(exact, torch.nn.functional.gelu(x).numpy(), rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(approx, torch.nn.functional.gelu(x, approximate="tanh").numpy(), rtol=1e-7, atol=1e-7)


def test_largest_gap_agrees_with_a_dense_float_search():
    xs = np.linspace(-8, 8, 160_001)
    exact = 0.5 * xs * (1 + np.vectorize(math.erf)(xs / math.sqrt(2)))
    approx = 0.5 * xs * (1 + np.tanh(math.sqrt(2 / math.pi) * (xs + 0.044715 * xs**3)))
    gaps = np.abs(exact - approx)
    where, gap = largest_gelu_gap()
    assert gap == pytest.approx(gaps.max(), rel=1e-6)
    assert abs(where) == pytest.approx(abs(xs[gaps.argmax()]), abs=1e-3)
    assert 4e-4 < gap < 5e-4


def test_parameter_count_matches_real_linear_layers():
    forms = registry.build(NAME).closed_forms
    for d_model, d_ff in ((4, None), (768, None), (10, 7)):
        hidden = 4 * d_model if d_ff is None else d_ff
        counted = (d_model * hidden + hidden) + (hidden * d_model + d_model)  # two nn.Linear, weight + bias
        assert forms(d_model, d_ff)["parameters"][1] == counted
    assert forms(768)["parameters"][1] == 8 * 768**2 + 5 * 768
    torch = pytest.importorskip("torch", reason="nn.Linear counts its own parameters")
    mlp = torch.nn.Sequential(torch.nn.Linear(12, 48), torch.nn.GELU(), torch.nn.Linear(48, 12))
    assert forms(12)["parameters"][1] == sum(p.numel() for p in mlp.parameters())


def test_a_wrong_parameter_count_fails():
    d = registry.build(NAME)
    n = _index(d, "8d² + 5d")
    width = sp.Symbol("d", integer=True, positive=True)
    broken = replace(d, steps=d.steps[:n] + (replace(d.steps[n], rhs=8 * width**2 + 4 * width),) + d.steps[n + 1:])
    assert [r.label for r in check(broken).failures] == [f"step {n + 1}"]


def test_bad_sizes_are_usage_errors():
    for args in ((0,), (4, 0), (-1,)):
        with pytest.raises(UsageError):
            registry.build(NAME).closed_forms(*args)


def test_a_position_mixing_network_is_caught():
    """Row t of FFN(X) must be FFN of row t alone: swapping the rows on the right fails the step."""
    d = registry.build(NAME)
    n = _index(d, "row t of the output")
    rows = d.steps[n].rhs  # [FFN(x₀); FFN(x₁)]
    swapped = sp.BlockMatrix([[rows.blocks[1, 0]], [rows.blocks[0, 0]]])
    broken = replace(d, steps=d.steps[:n] + (replace(d.steps[n], rhs=swapped),) + d.steps[n + 1:])
    assert check(broken).result_for("step", n + 1).status == FAILED


def test_the_gelu_operators_expand_to_the_closed_forms():
    from explainer.derivations.feed_forward import GELU, GELUTanh

    forms = registry.build(NAME).closed_forms(8)
    (v,), exact = forms["gelu_erf"]
    (w,), approx = forms["gelu_tanh"]
    assert sp.simplify(GELU(v).doit() - exact) == 0
    assert sp.simplify(GELUTanh(w).doit() - approx) == 0
    assert str(GELU(v)) == "GELU(x)"  # printed as written, expanded only by doit


def test_the_worked_example_projects_the_gelu_values():
    example = registry.build(NAME).example
    want = 0.5 * sum(v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in (2, -2, 1, 0))
    assert any(getattr(s.rhs, "shape", None) == (1, 1) and float(s.rhs[0]) == pytest.approx(want, abs=1e-12)
               for s in example)
