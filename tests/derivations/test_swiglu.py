"""`swiglu`: SiLU′ proved, the parameter count equal at d_ff = 8d/3 and not at 4d, Llama's widths; the
closed forms against plain NumPy."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import sympy as sp

from explainer import registry
from explainer.check import FAILED, PROVED, check, check_step
from explainer.derivations import swiglu
from explainer.formats import render
from tests.derivations.steps import step_index

NAME = "swiglu"


def test_report_ok_and_everything_proved():
    report = check(registry.build(NAME))
    assert report.ok, report.failures
    assert {r.status for r in report.results} <= {PROVED}


def test_sigmoid_as_the_slope_of_silu_is_rejected():
    d = registry.build(NAME)
    s = d.steps[step_index(d, "product rule")]
    assert check_step(s.lhs, replace(s, rhs=swiglu.Sigmoid(swiglu.z)))[0] == FAILED


def test_four_d_hidden_width_does_not_keep_the_count():
    """With d_ff = 4d (the GELU MLP's width) three matrices cost 12d², not 8d²."""
    d = registry.build(NAME)
    r = d.result
    (p_glu, glu), (p_mlp, mlp) = d.steps[step_index(d, "extra term vanishes")].where
    four_d = {swiglu.d_ff: 4 * swiglu.d}
    assert check_step(glu.xreplace(four_d), replace(r, rhs=mlp, where=()))[0] == FAILED


def test_llama_widths():
    assert swiglu.llama_hidden(4096, 256) == 11008
    assert swiglu.llama_hidden(4096, 1024, 1.3) == 14336
    assert swiglu.llama_hidden(8192, 4096, 1.3) == 28672  # Llama 3 70B's published intermediate_size


def test_closed_forms_match_plain_numpy():
    rng = np.random.default_rng(4)
    forms = swiglu.swiglu_forms(3, 5)
    x, W1, W2, W3 = rng.normal(size=(3, 1)), rng.normal(size=(5, 3)), rng.normal(size=(3, 5)), rng.normal(size=(5, 3))
    silu = lambda v: v / (1 + np.exp(-v))  # noqa: E731
    got = np.asarray(sp.lambdify(*forms["ffn"], "numpy")(x, W1, W2, W3), dtype=float)
    np.testing.assert_allclose(got, W2 @ (silu(W1 @ x) * (W3 @ x)), rtol=1e-12, atol=1e-12)
    zs = np.linspace(-6, 6, 13)
    slope = np.asarray(sp.lambdify(*forms["silu_grad"], "numpy")(zs), dtype=float)
    h = 1e-6
    np.testing.assert_allclose(slope, (silu(zs + h) - silu(zs - h)) / (2 * h), rtol=1e-6, atol=1e-8)
    assert int(forms["parameters"][1]) == 3 * 3 * 5
