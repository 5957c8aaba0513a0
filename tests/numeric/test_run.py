"""The reference run: deterministic, padded and causal, honest about its device."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from explainer.errors import MissingTool, UsageError
from explainer.numeric.config import PRESETS, Config, preset
from explainer.numeric.run import IGNORE, device_name, reference_run, resolve_device, resolve_dtype

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def run():
    return reference_run(PRESETS["tiny"], device=CPU, dtype=torch.float64, seed=0)


def test_same_seed_same_run(run):
    again = reference_run(PRESETS["tiny"], device=CPU, dtype=torch.float64, seed=0)
    assert torch.equal(again.tensors["logits"], run.tensors["logits"])
    other = reference_run(PRESETS["tiny"], device=CPU, dtype=torch.float64, seed=1)
    assert not torch.equal(other.tensors["logits"], run.tensors["logits"])


def test_batch_is_padded_and_targets_ignore_padding(run):
    b = run.batch
    assert b.lengths[0] == run.cfg.seq_len and min(b.lengths) < run.cfg.seq_len
    for i, length in enumerate(b.lengths):
        assert (b.ids[i, length:] == 0).all() and (b.ids[i, :length] > 0).all()
        assert (b.targets[i, length - 1:] == IGNORE).all()
        assert torch.equal(b.targets[i, : length - 1], b.ids[i, 1:length])


def test_loss_is_pytorch_cross_entropy_of_the_logits(run):
    logits = run.tensors["logits"]
    loss = F.cross_entropy(logits.reshape(-1, run.cfg.vocab), run.batch.targets.reshape(-1), ignore_index=IGNORE)
    assert loss.item() == pytest.approx(run.loss.item(), rel=1e-12)
    assert abs(run.loss.item() - math.log(run.cfg.vocab)) < 0.05 * math.log(run.cfg.vocab)


def test_capture_has_every_intermediate(run):
    B, T, d, h = run.cfg.batch, run.cfg.seq_len, run.cfg.d_model, run.cfg.n_heads
    t = run.tensors
    assert t["0.attn.q"].shape == (B, h, T, d // h)
    assert t["0.attn.weights"].shape == (B, h, T, T)
    assert torch.allclose(t["0.attn.weights"].sum(-1), torch.ones(B, h, T, dtype=torch.float64))
    assert (t["0.attn.weights"][..., 0, 1:] == 0).all()  # causal: token 0 sees only itself
    assert torch.equal(t["0.attn.x"], t["0.ln_1.out"]) and torch.equal(t["ln_f.out"], t["ln_f.out"])
    assert t["logits.grad"].shape == (B, T, run.cfg.vocab)


def test_both_attention_configurations_give_the_same_function():
    """nn.MultiheadAttention and the F.sdpa module, loaded with the same weights, agree."""
    mha_run = reference_run(PRESETS["tiny"], device=CPU, dtype=torch.float64, seed=3)
    sdpa_run = reference_run(PRESETS["tiny"].with_attention("sdpa"), device=CPU, dtype=torch.float64, seed=3)
    rename = {"mha.in_proj_weight": "in_proj.weight", "mha.in_proj_bias": "in_proj.bias",
              "mha.out_proj.weight": "out_proj.weight", "mha.out_proj.bias": "out_proj.bias"}
    state = {}
    for key, value in mha_run.model.state_dict().items():
        for old, new in rename.items():
            key = key.replace(old, new)
        state[key] = value
    sdpa_run.model.load_state_dict(state)
    batch = mha_run.batch
    with torch.no_grad():
        torch.testing.assert_close(sdpa_run.model(batch.ids, batch.pad), mha_run.model(batch.ids, batch.pad))


def test_devices_and_dtypes_are_honest():
    assert device_name(resolve_device("cpu")) == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_dtype("float32", CPU) is torch.float32
    with pytest.raises(UsageError, match="unknown dtype"):
        resolve_dtype("float8", CPU)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_gpu_is_a_clear_error():
    with pytest.raises(MissingTool, match="CUDA"):
        resolve_device("cuda")


def test_bad_sizes():
    with pytest.raises(UsageError, match="divide"):
        Config(d_model=30, n_heads=4)
    with pytest.raises(UsageError, match="unknown size"):
        preset("huge")
