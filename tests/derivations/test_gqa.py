"""`grouped-query-attention`: GQA = MHA on K/V heads repeated in place (proved); a tiled repetition is
rejected; the closed form against a plain NumPy attention with repeat_interleave."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import sympy as sp

from explainer import registry
from explainer.check import FAILED, PROVED, check, check_step
from explainer.derivations import gqa
from explainer.formats import render
from tests.derivations.steps import step_index

NAME = "grouped-query-attention"


def test_report_ok_and_the_identity_proved():
    d = registry.build(NAME)
    report = check(d)
    assert report.ok, report.failures
    assert report.result_for("step", step_index(d, "exactly multi-head attention") + 1).status == PROVED
    assert report.result_for("result", 1).status == PROVED


def _tile(h, g, d_head):
    """Head j reads K/V head j mod g: torch.repeat's order, not repeat_interleave's."""
    return sp.ImmutableMatrix(g * d_head, h * d_head,
                              lambda r, c: int(r // d_head == (c // d_head) % g and r % d_head == c % d_head))


def test_tiled_repetition_is_rejected():
    d = registry.build(NAME)
    s = d.steps[step_index(d, "exactly multi-head attention")]
    E = d.steps[0].where[0][0]
    tiled = s.rhs.xreplace({E: _tile(gqa.EX_H, gqa.EX_G, gqa.EX_DH)})
    assert check_step(s.lhs, replace(s, rhs=tiled))[0] == FAILED


def test_the_correct_repetition_proves_with_the_matrix_written_in():
    d = registry.build(NAME)
    s = d.steps[step_index(d, "exactly multi-head attention")]
    E = d.steps[0].where[0][0]
    written = s.rhs.xreplace({E: gqa.repeat_matrix(gqa.EX_H, gqa.EX_G, gqa.EX_DH)})
    assert check_step(s.lhs, replace(s, rhs=written))[0] == PROVED


def _numpy_gqa(Q, K, V, h, g, dh):
    n = Q.shape[0]
    q = Q.reshape(n, h, dh).transpose(1, 0, 2)
    k = np.repeat(K.reshape(n, g, dh).transpose(1, 0, 2), h // g, axis=0)   # repeat_interleave over heads
    v = np.repeat(V.reshape(n, g, dh).transpose(1, 0, 2), h // g, axis=0)
    s = q @ k.transpose(0, 2, 1) / np.sqrt(dh)
    w = np.exp(s - s.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    return (w @ v).transpose(1, 0, 2).reshape(n, h * dh)


def test_closed_form_matches_plain_numpy():
    rng = np.random.default_rng(1)
    h, g, dh, n = 4, 2, 2, 3
    args, expr = gqa.gqa_forms(h, g, dh, n=n)["output"]
    Q, K, V = rng.normal(size=(n, h * dh)), rng.normal(size=(n, g * dh)), rng.normal(size=(n, g * dh))
    got = np.asarray(sp.lambdify(args, expr, "numpy")(Q, K, V), dtype=float)
    np.testing.assert_allclose(got, _numpy_gqa(Q, K, V, h, g, dh), rtol=1e-12, atol=1e-12)


def test_parameter_counts_by_component():
    (sizes,) = gqa.gqa_forms(32, 8, 128, d=4096)["parameters"][1].tolist()
    assert sizes == [4096 * 4096, 4096 * 1024, 4096 * 1024, 4096 * 4096]
