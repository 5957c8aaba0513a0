"""Checks against transformers modules and torch functions (explainer/numeric/checks/hf_blocks.py): every row
passes on the CPU in float64 and float32, every module's parameters are random and non-zero, and the guards
that make an oracle able to disagree really fail when they should."""
from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("transformers")

from explainer.numeric.checks import CHECKS, hf_blocks  # noqa: E402
from explainer.numeric.checks.base import Context  # noqa: E402
from explainer.numeric.compare import FAILED, PASSED  # noqa: E402
from explainer.numeric.config import PRESETS  # noqa: E402

NAMES = ("pre-vs-post-layernorm", "online-softmax", "training-flops", "distillation", "masked-language-modeling")


def _rows(name, ctx):
    return [r for fn in CHECKS[name] if fn.__module__ == hf_blocks.__name__ for r in fn(ctx)]


@pytest.mark.parametrize("dtype", (torch.float64, pytest.param(torch.float32, marks=pytest.mark.slow)))
@pytest.mark.parametrize("name", NAMES)
def test_every_row_passes_and_names_its_oracle(name, dtype):
    rows = _rows(name, Context(PRESETS["tiny"], torch.device("cpu"), dtype, seed=0))
    assert rows and all(r.status == PASSED for r in rows), [(r.check, r.status, r.max_abs) for r in rows]
    assert any("planted" in r.check for r in rows)  # each derivation has a wrong formula that must be rejected
    import transformers

    versions = (f"transformers {transformers.__version__}", f"torch {torch.__version__}")
    assert any(v in r.check for r in rows for v in versions)  # the oracle is named with its library version


def test_half_precision_uses_the_fused_kernel_rule():
    rows = _rows("pre-vs-post-layernorm", Context(PRESETS["tiny"], torch.device("cpu"), torch.bfloat16, seed=0))
    judged = [r for r in rows if r.dtype == "bfloat16"]
    assert judged and all(r.tolerance.startswith("4× math") and r.status == PASSED for r in judged)


def test_randomize_leaves_no_zero_and_a_default_init_is_caught():
    import transformers

    ctx = Context(PRESETS["tiny"], torch.device("cpu"), torch.float64, seed=0)
    block = transformers.models.gpt2.modeling_gpt2.GPT2Block(hf_blocks._gpt2_config(transformers), layer_idx=0)
    assert hf_blocks._nonzero("x", "default init", block, ctx).status == FAILED  # zero biases at init
    randomized = hf_blocks.randomize(block, ctx, 1)
    assert hf_blocks._nonzero("x", "randomized", randomized, ctx).status == PASSED
    assert not torch.allclose(randomized.ln_1.weight, torch.ones_like(randomized.ln_1.weight))


def test_rejects_fails_when_the_wrong_formula_agrees():
    same = np.array([1.0, 2.0])
    assert hf_blocks.rejects("x", "no change", ("cpu", "float64"), same, same).status == FAILED
    assert hf_blocks.rejects("x", "a change", ("cpu", "float64"), same + 0.1, same).status == PASSED


def test_a_swapped_block_order_fails_the_oracle():
    import transformers

    ctx = Context(PRESETS["tiny"], torch.device("cpu"), torch.float64, seed=0)
    block = hf_blocks.randomize(transformers.models.gpt2.modeling_gpt2.GPT2Block(
        hf_blocks._gpt2_config(transformers), layer_idx=0), ctx, 5)
    x = torch.randn(1, 4, hf_blocks.WIDTH, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(hf_blocks.pre_ln(block, x), block(x))
        assert not torch.allclose(hf_blocks.post_ln_gpt2(block, x), block(x), atol=1e-3)


def test_masked_mean_loss_against_cross_entropy_with_ignore_index():
    gen = torch.Generator().manual_seed(3)
    logits = torch.randn(2, 5, 7, dtype=torch.float64, generator=gen)
    labels = torch.tensor([[1, -100, 3, -100, -100], [-100, 2, -100, -100, 6]])
    want = torch.nn.functional.cross_entropy(logits.reshape(-1, 7), labels.reshape(-1), ignore_index=-100)
    assert hf_blocks.masked_mean_loss(logits.numpy(), labels.numpy()) == pytest.approx(want.item(), rel=1e-12)
