"""`cross-entropy`: loss and gradient against mpmath and F.cross_entropy; ln V at initialisation."""
from __future__ import annotations

import math
import random
from dataclasses import replace

import mpmath
import numpy as np
import pytest
import sympy as sp

from explainer import registry
from tests.derivations.steps import step_index as _index
from explainer.check import FAILED, PROVED, check

NAME = "cross-entropy"




def _onehot(V: int, y: int) -> np.ndarray:
    row = np.zeros((1, V))
    row[0, y] = 1
    return row


def test_report_ok_and_gradient_proved_for_any_and_concrete_sizes():
    d = registry.build(NAME)
    report = check(d)
    assert report.ok
    assert all(r.status != "checked numerically" for r in report.results)
    for text in ("any V", "k ≠ y", "V = 2", "V = 3", "V = 4", "batch mean", "perplexity", "uniform predictions"):
        assert report.result_for("step", _index(d, text) + 1).status == PROVED, text


def test_closed_forms_match_mpmath_including_large_logits():
    rng = random.Random(4)
    mpmath.mp.dps = 40
    for V in (2, 5):
        forms = registry.build(NAME).closed_forms(V)
        loss, grad = (sp.lambdify(*forms[k], "numpy") for k in ("loss", "grad"))
        for scale in (1, 900):  # exp(900) overflows float64 in a naive form
            z = [rng.uniform(-scale, scale) for _ in range(V)]
            y = rng.randrange(V)
            total = mpmath.fsum(mpmath.exp(v) for v in z)
            assert float(loss(np.array([z]), _onehot(V, y))) == pytest.approx(float(mpmath.log(total) - z[y]), rel=1e-12)
            want = [float(mpmath.exp(v) / total) - (a == y) for a, v in enumerate(z)]
            np.testing.assert_allclose(np.asarray(grad(np.array([z]), _onehot(V, y)), dtype=float).ravel(), want,
                                       rtol=1e-12, atol=1e-300)


def test_closed_forms_match_torch_cross_entropy_and_batch_mean_gradient():
    torch = pytest.importorskip("torch", reason="F.cross_entropy is the oracle")
    torch.manual_seed(1)
    N, V = 3, 6
    z = torch.randn(N, V, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 5, 2])
    mean_loss = torch.nn.functional.cross_entropy(z, y)
    mean_loss.backward()
    forms = registry.build(NAME).closed_forms(V)
    loss, grad = (sp.lambdify(*forms[k], "numpy") for k in ("loss", "grad"))
    rows = z.detach().numpy()
    ours = [float(loss(rows[n:n + 1], _onehot(V, int(y[n])))) for n in range(N)]
    assert np.mean(ours) == pytest.approx(mean_loss.item(), rel=1e-12)
    ours_grad = np.vstack([np.asarray(grad(rows[n:n + 1], _onehot(V, int(y[n]))), dtype=float) for n in range(N)]) / N
    np.testing.assert_allclose(ours_grad, z.grad.numpy(), rtol=1e-7, atol=1e-12)


def test_uniform_loss_is_ln_v():
    d = registry.build(NAME)
    bounds = [s.rhs for s in d.example if s.rel in ("<", ">")]
    assert float(min(bounds)) < math.log(50257) < float(max(bounds))
    assert round(math.log(50257), 2) == 10.82
    V = 7
    loss = sp.lambdify(*registry.build(NAME).closed_forms(V)["loss"], "numpy")
    assert float(loss(np.full((1, V), 3.0), _onehot(V, 2))) == pytest.approx(math.log(V))


def test_a_gradient_with_the_wrong_sign_fails():
    d = registry.build(NAME)
    n = _index(d, "V = 3")
    diag = sp.eye(3) * 2  # softmax + onehot instead of softmax − onehot
    broken = replace(d, steps=d.steps[:n] + (replace(d.steps[n], rhs=d.steps[n].rhs + diag),) + d.steps[n + 1:])
    assert [r.label for r in check(broken).failures] == [f"step {n + 1}"]


def test_the_probability_definition_is_used_so_a_wrong_one_fails_downstream():
    d = registry.build(NAME)
    n = _index(d, "the probability softmax gives the correct token y")
    wrong = replace(d.steps[n], rhs=d.steps[n].rhs * 2)  # not a probability any more
    failed = {r.label for r in check(replace(d, steps=d.steps[:n] + (wrong,) + d.steps[n + 1:])).failures}
    assert f"step {_index(d, 'logsumexp(z) − z_y') + 1}" in failed and "result 1" in failed


def test_the_worked_gradient_reads_softmax_minus_onehot():
    from explainer.formats import render

    d = registry.build(NAME)
    step = next(s for s in d.example if "predicted minus actual" in s.why)
    assert step.where[0][1] == sp.ImmutableMatrix([[1, 0, 0]])
    assert "softmax([2  1  0]) - e₀ = " in render(d, "unicode")  # y = 0: token ids count from 0


def test_token_ids_count_from_zero_as_f_cross_entropy_targets_do():
    d = registry.build(NAME)
    (total,) = d.steps[0].rhs.atoms(sp.Sum)
    (_, low, high), = total.limits
    assert (low, high) == (0, sp.Symbol("V", integer=True, positive=True) - 1)
    step = next(s for s in d.example if "predicted minus actual" in s.why)
    assert "y = 0" in step.why and step.where[0][1][0, 0] == 1  # the correct token is entry 0
