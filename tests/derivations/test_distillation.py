"""`distillation`: the soft-target gradient (p − q)/T and the T² factor, against autograd; planted errors fail."""
from __future__ import annotations

from dataclasses import replace

import pytest

from explainer import registry
from explainer.check import FAILED, PROVED, check
from explainer.derivations import distillation as ds
from tests.derivations.steps import step_index

NAME = "distillation"


def test_report_ok_gradient_proved():
    d = registry.build(NAME)
    report = check(d)
    assert report.ok
    assert report.result_for("result", 1).status == PROVED


def test_a_gradient_without_the_one_over_t_is_rejected():
    d = registry.build(NAME)
    k = step_index(d, "differentiate")
    T = d.steps[k].rhs.as_numer_denom()[1]
    wrong = replace(d.steps[k], rhs=d.steps[k].rhs * T)  # p − q, forgetting 1/T
    report = check(replace(d, steps=d.steps[:k] + (wrong,) + d.steps[k + 1:]))
    assert report.result_for("step", k + 1).status == FAILED


def test_gradient_and_t_squared_against_autograd():
    torch = pytest.importorskip("torch")
    gen = torch.Generator().manual_seed(5)
    z = torch.randn(7, requires_grad=True, generator=gen, dtype=torch.float64)
    v = torch.randn(7, generator=gen, dtype=torch.float64)
    grads = {}
    for T in (1.0, 4.0, 100.0, 1000.0):
        loss = -(torch.softmax(v / T, 0) * torch.log_softmax(z / T, 0)).sum()
        (g,) = torch.autograd.grad(loss, z)
        torch.testing.assert_close(g, (torch.softmax(z / T, 0) - torch.softmax(v / T, 0)) / T,
                                   rtol=1e-12, atol=1e-15)
        grads[T] = g
    limit = ((z - z.mean()) - (v - v.mean())).detach() / 7
    torch.testing.assert_close(1000.0**2 * grads[1000.0], limit, rtol=1e-2, atol=1e-4)
    assert (grads[100.0].abs().max() / grads[1000.0].abs().max()).item() == pytest.approx(100, rel=0.02)


def test_bert_base_counts_by_component():
    b = ds.BERT_BASE
    parts = {k: int(e.xreplace(b)) for k, e in ds.BERT_PARTS.items()}
    assert parts["embeddings"] == 30522 * 768 and parts["token types"] == 2 * 768 and parts["pooler"] == 768**2 + 768
    assert sum(parts.values()) == 109_482_240


def test_classes_count_from_zero_as_in_pytorch():
    import sympy as sp

    d = registry.build(NAME)
    k = step_index(d, "differentiate")
    assert [str(v) for v in d.steps[k].lhs.variables] == ["z_0"]
    assert str(d.steps[k].rhs.as_numer_denom()[0]) == "p_0 - q_0"
    assert [str(s.lhs) for s in d.steps[:3]] == ["p_0", "p_1", "p_2"] and "class 0" in d.steps[0].why
    assert sp.Symbol("z_0", real=True) in d.steps[0].rhs.free_symbols
