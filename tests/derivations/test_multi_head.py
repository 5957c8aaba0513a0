"""`multi-head-attention`: every step proved; the closed form against torch.nn.MultiheadAttention (skipped
without torch) and a numpy re-implementation; the parameter count against the module's own tensors."""
from __future__ import annotations

import functools

import numpy as np
import pytest
import sympy as sp

from explainer.derivations.multi_head import mha_forms
from explainer import registry
from explainer.check import ASSUMED, FAILED, PROVED, check, check_step
from explainer.errors import UsageError
from explainer.model import Step


def numpy_mha(X, W_in, b_in, W_O, b_O, h):
    d = X.shape[1]
    q, k, v = np.split(X @ W_in.T + b_in, 3, axis=1)
    heads = []
    for r in np.split(np.arange(d), h):
        s = q[:, r] @ k[:, r].T / np.sqrt(len(r))
        e = np.exp(s - s.max(axis=1, keepdims=True))
        heads.append(e / e.sum(axis=1, keepdims=True) @ v[:, r])
    return np.hstack(heads) @ W_O.T + b_O


def test_every_step_is_proved_or_assumed():
    report = check(registry.build("multi-head-attention"))
    assert report.ok
    assert all(r.status in (PROVED, ASSUMED) for r in report.results)


def random_inputs(rng, n, d):
    return (rng.normal(size=(n, d)), rng.normal(size=(3 * d, d)), rng.normal(size=(1, 3 * d)),
            rng.normal(size=(d, d)), rng.normal(size=(1, d)))


@functools.cache
def compiled(n: int, d: int, h: int):
    """The closed form for these sizes, lambdified once (the expression grows fast with n and d)."""
    args, expr = mha_forms(n=n, d_model=d, h=h)["output"]
    return sp.lambdify(args, expr, "numpy")


def test_closed_form_matches_numpy_reimplementation():
    rng = np.random.default_rng(6)
    for n, d, h in ((2, 2, 2), (2, 2, 1), (1, 4, 2)):
        inputs = random_inputs(rng, n, d)
        assert np.allclose(compiled(n, d, h)(*inputs), numpy_mha(*inputs, h), rtol=1e-12)


def test_closed_form_matches_torch_multihead_attention():
    torch = pytest.importorskip("torch", reason="torch is the oracle for nn.MultiheadAttention")
    torch.manual_seed(0)
    for n, d, h in ((2, 2, 2), (2, 2, 1)):
        mha = torch.nn.MultiheadAttention(d, h, bias=True, batch_first=True, dtype=torch.float64)
        with torch.no_grad():
            for p in mha.parameters():
                p.normal_()
        X = torch.randn(1, n, d, dtype=torch.float64)
        expected, _ = mha(X, X, X, need_weights=False)
        ours = compiled(n, d, h)(
            X[0].numpy(), mha.in_proj_weight.detach().numpy(), mha.in_proj_bias.detach().numpy()[None, :],
            mha.out_proj.weight.detach().numpy(), mha.out_proj.bias.detach().numpy()[None, :])
        torch.testing.assert_close(torch.as_tensor(np.asarray(ours, dtype=float)), expected[0])
        count_args, count = mha_forms(n=1, d_model=d, h=h)["parameters"]
        assert [a.name for a in count_args] == ["d_model"]
        assert sp.lambdify(count_args, count)(d) == sum(p.numel() for p in mha.parameters())


def test_parameter_count_against_the_shapes_and_a_wrong_count_fails():
    args, count = mha_forms(n=1, d_model=8, h=2)["parameters"]
    (d,) = args
    for width in (1, 8, 768):
        shapes = [(3 * width, width), (3 * width,), (width, width), (width,)]  # in_proj, out_proj
        assert count.subs(d, width) == sum(int(np.prod(s)) for s in shapes)
    assert check_step(4 * d**2 + 4 * d, Step(rhs=4 * d**2 + 3 * d, why="forgot a bias"), seed="p")[0] == FAILED


def test_heads_must_divide_the_width():
    forms = registry.build("multi-head-attention").closed_forms
    assert forms is mha_forms
    with pytest.raises(UsageError, match="must divide"):
        forms(n=2, d_model=6, h=4)
    with pytest.raises(UsageError, match="positive"):
        forms(n=2, d_model=0, h=1)
