"""Every numeric check on the tiny CPU run, in float64 and float32; and a wrong closed form must fail."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch

from explainer.numeric import compare
from explainer.numeric.checks import CHECKS, attention
from explainer.numeric.checks.base import Context
from explainer.numeric.config import PRESETS

FAST = ["dot-product", "attention-scores", "softmax", "scaled-dot-product-attention", "attention-masks",
        "linear-layer", "embeddings", "residual-layernorm", "feed-forward", "lm-head", "cross-entropy",
        "permutation-equivariance"]
WHOLE = ["positional-encoding", "softmax-scaling", "multi-head-attention", "parameter-count", "attention-cost"]


@pytest.fixture(scope="module", params=[torch.float64, torch.float32], ids=["float64", "float32"])
def ctx(request):
    return Context(PRESETS["tiny"], torch.device("cpu"), request.param, seed=0)


def _results(name, ctx):
    return [r for fn in CHECKS[name] for r in fn(ctx)]


def _assert_ok(results):
    assert results
    for r in results:
        assert r.status in (compare.PASSED, compare.FINDING, compare.SKIPPED), r
        assert r.device in ("cpu", "meta")
        if r.status == compare.SKIPPED:
            assert r.notes  # a skip always says why


@pytest.mark.parametrize("name", FAST)
def test_check_passes(name, ctx):
    _assert_ok(_results(name, ctx))


@pytest.mark.parametrize("name", WHOLE)
def test_check_passes_float64(name):
    _assert_ok(_results(name, Context(PRESETS["tiny"], torch.device("cpu"), torch.float64, seed=0)))


def test_fully_masked_row_is_a_finding(ctx):
    row = [r for r in _results("attention-masks", ctx) if r.check.startswith("fully masked")][0]
    if row.status != compare.SKIPPED:
        assert row.status == compare.FINDING
        assert "returned zeros" in row.notes and "weights NaN" in row.notes


def test_cpu_lists_unavailable_backends(ctx):
    rows = _results("scaled-dot-product-attention", ctx)
    if rows[0].status == compare.SKIPPED:
        pytest.skip("scaled-dot-product-attention has no closed form yet")
    missing = {r.check.rsplit(" ", 1)[-1] for r in rows if r.status == compare.SKIPPED}
    assert {"memory-efficient", "cudnn"} <= missing  # CUDA-only kernels, reported, not faked


def test_multi_head_attention_through_every_backend(ctx):
    """The F.sdpa module's output with each backend forced: math and flash run on the CPU, the
    CUDA-only kernels are listed as unavailable with PyTorch's reason."""
    rows = [r for r in _results("multi-head-attention", ctx) if r.check.startswith("output of the F.sdpa module")]
    by_backend = {r.check.rsplit(" ", 1)[-1]: r for r in rows}
    assert set(by_backend) == {"math", "flash", "memory-efficient", "cudnn"}
    assert by_backend["math"].status == by_backend["flash"].status == compare.PASSED
    assert by_backend["flash"].tolerance.startswith("4× math")
    assert all(by_backend[b].status == compare.SKIPPED and "unavailable on cpu" in by_backend[b].notes
               for b in ("memory-efficient", "cudnn"))


def test_wrong_closed_form_fails(monkeypatch):
    """softmax(QKᵀ)V without 1/√d_k in place of the derivation's output: the comparison must fail."""
    def wrong(name, label, **sizes):
        n, m, d_k, d_v = sizes["n"], sizes["m"], sizes["d_k"], sizes["d_v"]
        Q, K, V = sp.MatrixSymbol("Q", n, d_k), sp.MatrixSymbol("K", m, d_k), sp.MatrixSymbol("V", m, d_v)
        S = (Q * K.T).as_explicit()
        W = sp.ImmutableMatrix(n, m, lambda i, j: sp.exp(S[i, j]) / sum(sp.exp(S[i, l]) for l in range(m)))
        args, expr = ((Q, K), W) if label == "weights" else ((Q, K, V), W * V.as_explicit())
        fn = sp.lambdify(args, expr, "numpy")
        return lambda *xs: np.asarray(fn(*(compare.to_numpy(x) for x in xs)))

    monkeypatch.setattr(attention, "closed_form", wrong)
    ctx = Context(PRESETS["tiny"], torch.device("cpu"), torch.float64, seed=0)
    rows = attention.check_scaled_dot_product_attention(ctx)
    # the fused kernels are judged relative to the math backend's error, so only the direct rows can
    # see a wrong closed form: F.sdpa math and nn.MultiheadAttention's weights
    direct = [r for r in rows if r.status != compare.SKIPPED and not r.tolerance.startswith("4×")]
    assert len(direct) == 2 and all(r.status == compare.FAILED for r in direct)


def test_missing_closed_form_is_skipped_honestly(monkeypatch):
    def missing(*args, **kwargs):
        raise compare.NoClosedForm("lm-head has no closed form yet")

    monkeypatch.setattr(attention, "closed_form", missing)
    ctx = Context(PRESETS["tiny"], torch.device("cpu"), torch.float64, seed=0)
    (row,) = attention.check_attention_scores(ctx)
    assert row.status == compare.SKIPPED and "no closed form yet" in row.notes


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (CI has none)")
def test_cuda_fused_backends():
    ctx = Context(PRESETS["tiny"], torch.device("cuda"), torch.float32, seed=0)
    rows = _results("scaled-dot-product-attention", ctx)
    assert all(r.status != compare.FAILED for r in rows)
    assert any(r.dtype == "float16" and r.status == compare.PASSED and "flash" in r.check for r in rows)
    assert all(r.device.startswith("cuda") for r in rows)
