"""`positional-encoding`: rotation by angle addition proved; closed forms against plain Python."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import sympy as sp

from explainer import registry
from tests.derivations.steps import step_index as _index
from explainer.check import FAILED, PROVED, check
from explainer.errors import UsageError

NAME = "positional-encoding"


def _reference(pos: int, j: int, d: int) -> float:
    """The paper's formula, written independently in plain Python."""
    angle = pos / 10000 ** ((j - j % 2) / d)
    return math.sin(angle) if j % 2 == 0 else math.cos(angle)




def test_report_ok_and_rotation_steps_proved():
    d = registry.build(NAME)
    report = check(d)
    assert report.ok
    for text in ("angle addition", "PE(pos + k) = R(k)·PE(pos)", "one pair's share", "exp(2i·(−ln 10000/d))",
                 "‖PE(pos)‖²"):
        assert report.result_for("step", _index(d, text) + 1).status == PROVED, text
    assert report.result_for("result", 1).status == PROVED
    assert all(r.status == PROVED for r in report.results if r.section == "example")


@pytest.mark.parametrize("d_model", [2, 4, 16])
def test_closed_forms_on_integer_meshgrids_match_plain_python(d_model):
    forms = registry.build(NAME).closed_forms(d_model)
    positions, dims = np.meshgrid(np.arange(50), np.arange(d_model), indexing="ij")  # (50, d_model) int arrays
    want = np.array([[_reference(p, j, d_model) for j in range(d_model)] for p in range(50)])
    for label in ("pe", "pe_explog"):
        args, expr = forms[label]
        assert [a.name for a in args] == ["pos", "j"]
        got = sp.lambdify(args, expr, "numpy")(positions, dims)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    assert np.all(np.abs(want) <= 1)
    np.testing.assert_allclose((want**2).sum(axis=1), d_model / 2, atol=1e-12)


def test_dot_product_depends_only_on_the_offset():
    args, expr = registry.build(NAME).closed_forms(8)["pe"]
    f = sp.lambdify(args, expr, "numpy")
    dims = np.arange(8)
    rows = np.array([f(np.full(8, p), dims) for p in range(40)])  # (40, 8)
    for k in (1, 3, 7):
        sims = [rows[p] @ rows[p + k] for p in range(40 - k)]
        want = sum(math.cos(k / 10000 ** (2 * i / 8)) for i in range(4))
        np.testing.assert_allclose(sims, want, atol=1e-12)


def test_a_wrong_exponent_fails_at_the_wavelength_step():
    d = registry.build(NAME)
    first = d.steps[0]  # ω_i := 10000^(−2i/d)
    i, width = sp.Symbol("i", integer=True, nonnegative=True), sp.Symbol("d", integer=True, positive=True)
    wrong = replace(first, rhs=sp.Integer(10000) ** (-i / width))  # forgot the factor 2
    report = check(replace(d, steps=(wrong,) + d.steps[1:]))
    n = _index(d, "its wavelength")
    assert report.result_for("step", n + 1).status == FAILED
    assert report.result_for("step", _index(d, "exp(2i·(−ln 10000/d))") + 1).status == FAILED


def test_odd_or_bad_widths_are_usage_errors():
    forms = registry.build(NAME).closed_forms
    for bad in (3, 0, -2):
        with pytest.raises(UsageError):
            forms(bad)


def test_the_worked_table_is_pe_itself_and_a_wrong_entry_fails():
    d = registry.build(NAME)
    table = d.example[0]
    assert sp.sstr(table.lhs) == "PE[0:3, 0:4]" and table.rhs.shape == (3, 4)
    entries = [[_reference(p, j, 4) for j in range(4)] for p in range(3)]
    np.testing.assert_allclose(np.array(table.rhs.evalf(), dtype=float), entries, atol=1e-15)
    wrong = replace(table, rhs=table.rhs.subs(sp.Rational(1, 100), sp.Rational(1, 10)))  # ω₁ with d = 2
    report = check(replace(d, example=(wrong,) + d.example[1:]))
    assert [r.label for r in report.failures] == ["example 1"]


def test_the_shortest_wavelength_step_names_the_wavelength():
    d = registry.build(NAME)
    step = d.steps[_index(d, "shortest wavelength")]
    assert sp.sstr(step.lhs) != sp.sstr(step.rhs) and "ω" in sp.sstr(step.lhs)
    assert check(d).result_for("step", _index(d, "shortest wavelength") + 1).status == PROVED
