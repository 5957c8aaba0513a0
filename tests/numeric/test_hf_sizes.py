"""`explainer size` presets against transformers models built on the meta device from configurations written
out independently (published values or transformers' config-class defaults), component by component."""
from __future__ import annotations

import pytest

pytest.importorskip("transformers")

from explainer import sizes  # noqa: E402
from explainer.numeric.checks import hf_sizes  # noqa: E402

#: transformers config attribute names of each size, per model class.
FIELDS = {"GPT2LMHeadModel": ("n_layer", "n_embd", "n_head", "vocab_size", "n_positions", None, None),
          "LlamaForCausalLM": ("num_hidden_layers", "hidden_size", "num_attention_heads", "vocab_size",
                               "max_position_embeddings", "intermediate_size", "num_key_value_heads"),
          "BertModel": ("num_hidden_layers", "hidden_size", "num_attention_heads", "vocab_size",
                        "max_position_embeddings", "intermediate_size", None),
          "DistilBertModel": ("n_layers", "dim", "n_heads", "vocab_size", "max_position_embeddings", "hidden_dim",
                              None)}


@pytest.fixture(scope="module")
def models():
    import transformers

    transformers.logging.set_verbosity_error()
    return {name: hf_sizes.build(name) for name in hf_sizes.PUBLISHED}


def test_every_preset_has_a_published_config():
    assert set(hf_sizes.PUBLISHED) == set(sizes.PRESETS)


@pytest.mark.parametrize("name", sorted(sizes.PRESETS))
def test_preset_matches_its_published_config(name, models):
    c = sizes.preset(name).config
    config = models[name].config
    attrs = FIELDS[hf_sizes.PUBLISHED[name][0]]
    ours = (c.n_layers, c.d_model, c.n_heads, c.vocab, c.n_ctx, c.d_ff, c.n_kv_heads)
    for attr, value in zip(attrs, ours):
        if attr is not None:
            assert getattr(config, attr) == value, (name, attr)


@pytest.mark.parametrize("name", sorted(sizes.PRESETS))
def test_every_component_equals_transformers(name, models):
    rows = hf_sizes.compare_preset(name, models[name])
    assert rows and all(formula == actual for _, formula, actual in rows), rows
    assert sum(a for _, _, a in rows) == sum(p.numel() for p in models[name].parameters())


def test_bert_base_total_is_transformers_count(models):
    assert sizes.parameters(sizes.preset("bert-base").config) == 109_482_240 == \
        sum(p.numel() for p in models["bert-base"].parameters())


def test_llama_ffn_rule_gives_the_published_widths():
    assert [hf_sizes.llama_d_ff(*a) for a in ((4096, 1.3, 1024), (8192, 1.3, 4096), (16384, 1.2, 4096))] == \
        [14336, 28672, 53248]


def test_a_wrong_preset_is_rejected(monkeypatch, models):
    good = sizes.PRESETS["bert-base"]
    wrong = sizes.Preset(sizes.Config("bert", 12, 768, 12, 30000, 512), good.published, good.source)
    monkeypatch.setitem(sizes.PRESETS, "bert-base", wrong)
    bad = [part for part, f, a in hf_sizes.compare_preset("bert-base", models["bert-base"]) if f != a]
    assert bad == ["embeddings"]


def test_a_wrong_component_formula_is_rejected(monkeypatch, models):
    from explainer.derivations import distillation as ds

    parts = {**ds.BERT_PARTS, "pooler": ds.d**2}  # the pooler's bias forgotten
    monkeypatch.setitem(sizes._PARTS, "bert", parts)
    bad = [part for part, f, a in hf_sizes.compare_preset("bert-base", models["bert-base"]) if f != a]
    assert bad == ["pooler"]


def test_compensating_errors_that_a_total_would_hide_are_rejected(monkeypatch, models):
    from explainer.derivations import distillation as ds

    moved = {**ds.BERT_PARTS, "attention": ds.BERT_PARTS["attention"] + ds.d,
             "mlp": ds.BERT_PARTS["mlp"] - ds.d}  # same total, wrong split
    monkeypatch.setitem(sizes._PARTS, "bert", moved)
    rows = hf_sizes.compare_preset("bert-base", models["bert-base"])
    assert sum(f for _, f, _ in rows) == sum(a for _, _, a in rows)
    assert sorted(part for part, f, a in rows if f != a) == ["attention", "mlp"]


def test_an_unknown_parameter_name_is_an_error():
    with pytest.raises(ValueError, match="no component"):
        hf_sizes.component("bert", "encoder.layer.0.adapter.weight")
