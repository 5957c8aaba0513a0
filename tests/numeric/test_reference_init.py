"""The reference run's parameters are all random and non-zero, so a closed form that forgets a bias or a
LayerNorm gain disagrees with the run (with GPT-2's zero biases and unit gains it would agree)."""
from __future__ import annotations

import torch

from explainer.numeric import compare
from explainer.numeric.checks.block import _layer_norm_rows
from explainer.numeric.compare import FAILED, PASSED, closed_form
from explainer.numeric.config import PRESETS
from explainer.numeric.run import reference_run


def _run():
    return reference_run(PRESETS["tiny"], device=torch.device("cpu"), dtype=torch.float64, seed=0)


def test_no_parameter_is_zero_and_no_gain_is_one():
    model = _run().model
    for name, p in model.named_parameters():
        assert (p != 0).all(), name
        if name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
            assert not torch.isclose(p, torch.ones_like(p)).any(), name


def test_a_layer_norm_without_its_shift_is_rejected_by_the_run():
    run = _run()
    d = run.cfg.d_model
    ln = run.model.blocks[0].ln_1
    x, out = run.tensors["0.ln_1.in"][0, :3], run.tensors["0.ln_1.out"][0, :3]
    form = closed_form("residual-layernorm", "layer_norm", d=d)
    right = compare.direct("residual-layernorm", "with β", ("cpu", "float64"), _layer_norm_rows(form, x, ln), out)
    shiftless = torch.nn.LayerNorm(d, dtype=torch.float64)
    with torch.no_grad():
        shiftless.weight.copy_(ln.weight)
        shiftless.bias.zero_()
    wrong = compare.direct("residual-layernorm", "β forgotten", ("cpu", "float64"),
                           _layer_norm_rows(form, x, shiftless), out)
    assert (right.status, wrong.status) == (PASSED, FAILED)


def test_an_attention_without_its_input_bias_is_rejected_by_the_run():
    run = _run()
    mha = run.model.blocks[0].attn.mha
    x = run.tensors["0.ln_1.out"][0:1]                                                # (1, T, d)
    T = x.shape[1]
    causal = torch.ones(T, T, dtype=torch.bool).triu(1)
    h, dk = mha.num_heads, x.shape[-1] // mha.num_heads
    split = lambda t: t.view(1, T, h, dk).transpose(1, 2)  # noqa: E731

    def attention(bias):
        q, k, v = torch.nn.functional.linear(x, mha.in_proj_weight, bias).chunk(3, dim=-1)
        y = torch.nn.functional.scaled_dot_product_attention(split(q), split(k), split(v), is_causal=True)
        return mha.out_proj(y.transpose(1, 2).reshape(1, T, -1))

    with torch.no_grad():
        want, _ = mha(x, x, x, attn_mask=causal, need_weights=False)
        torch.testing.assert_close(attention(mha.in_proj_bias), want, rtol=1e-7, atol=1e-7)
        assert not torch.allclose(attention(None), want, rtol=1e-7, atol=1e-7)  # b_Q, b_K, b_V forgotten
