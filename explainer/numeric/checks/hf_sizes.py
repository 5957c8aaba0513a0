"""Every ``explainer size`` preset against the transformers model built from an independently written config.

The formula side is ``explainer.sizes.breakdown`` (the derivations' component formulas at the preset's
sizes). The oracle side never reads the preset: :data:`PUBLISHED` writes each configuration out again
from its source (transformers' own config-class defaults where they are that model, else the published
hyper-parameters), the transformers model is built from it on the ``meta`` device (shapes only, no
memory), and its parameters are summed per component by their module names (:func:`component`). A wrong
preset value, or a wrong component formula, shows as a mismatch in that component.
"""
from __future__ import annotations

import math

import torch

from explainer.numeric import compare
from explainer.numeric.checks.base import Context, check
from explainer.numeric.compare import Result

COUNT = "parameter-count"


def llama_d_ff(dim: int, multiplier: float, multiple_of: int) -> int:
    """Meta's rule (llama/model.py, FeedForward): ⌈multiplier · 2·4d/3⌉ rounded up to a multiple."""
    hidden = int(multiplier * int(2 * 4 * dim / 3))
    return multiple_of * math.ceil(hidden / multiple_of)


def _gpt2(n_layer: int, n_embd: int, n_head: int, n_positions: int = 1024) -> dict:
    return {"n_layer": n_layer, "n_embd": n_embd, "n_head": n_head, "n_positions": n_positions, "vocab_size": 50257}


def _llama(dim: int, n_layers: int, n_heads: int, multiplier: float, multiple_of: int, context: int) -> dict:
    return {"hidden_size": dim, "num_hidden_layers": n_layers, "num_attention_heads": n_heads,
            "num_key_value_heads": 8, "vocab_size": 128256, "max_position_embeddings": context,
            "intermediate_size": llama_d_ff(dim, multiplier, multiple_of), "tie_word_embeddings": False}


#: preset -> (model class, config class, config values written out from the source, source). An empty
#: dict means the config class's own defaults, which transformers documents as that very model.
PUBLISHED = {
    "gpt2-small": ("GPT2LMHeadModel", "GPT2Config", {}, "transformers GPT2Config defaults (openai-community/gpt2)"),
    "gpt2-medium": ("GPT2LMHeadModel", "GPT2Config", _gpt2(24, 1024, 16), "openai/gpt-2 models/345M/hparams.json"),
    "gpt2-large": ("GPT2LMHeadModel", "GPT2Config", _gpt2(36, 1280, 20), "openai/gpt-2 models/774M/hparams.json"),
    "gpt2-xl": ("GPT2LMHeadModel", "GPT2Config", _gpt2(48, 1600, 25), "openai/gpt-2 models/1558M/hparams.json"),
    "gpt3-175b": ("GPT2LMHeadModel", "GPT2Config", _gpt2(96, 12288, 96, 2048),
                  "Brown et al. 2020, table 2.1: n_layers 96, d_model 12288, n_heads 96, n_ctx 2048"),
    "llama3-8b": ("LlamaForCausalLM", "LlamaConfig", _llama(4096, 32, 32, 1.3, 1024, 8192),
                  "Meta Llama 3 8B params.json: dim 4096, ffn_dim_multiplier 1.3, multiple_of 1024"),
    "llama3-70b": ("LlamaForCausalLM", "LlamaConfig", _llama(8192, 80, 64, 1.3, 4096, 8192),
                   "Meta Llama 3 70B params.json: dim 8192, ffn_dim_multiplier 1.3, multiple_of 4096"),
    "llama3-405b": ("LlamaForCausalLM", "LlamaConfig", _llama(16384, 126, 128, 1.2, 4096, 131072),
                    "Meta Llama 3.1 405B params.json: dim 16384, ffn_dim_multiplier 1.2, multiple_of 4096"),
    "bert-base": ("BertModel", "BertConfig", {}, "transformers BertConfig defaults (google-bert/bert-base-uncased)"),
    "bert-large": ("BertModel", "BertConfig", {"hidden_size": 1024, "num_hidden_layers": 24,
                                               "num_attention_heads": 16, "intermediate_size": 4096},
                   "google-research/bert BERT-Large: L=24, H=1024, A=16, intermediate 4096"),
    "distilbert-base": ("DistilBertModel", "DistilBertConfig", {},
                        "transformers DistilBertConfig defaults (distilbert/distilbert-base-uncased)"),
}

#: Module-name fragments -> component, per architecture; the first match wins.
_RULES = {
    "gpt2": (("wte", "embeddings"), ("wpe", "positions"), (".attn.", "attention"), (".mlp.", "mlp"),
             ("ln_", "norms"), ("lm_head", "head")),
    "llama": (("embed_tokens", "embeddings"), ("self_attn", "attention"), (".mlp.", "mlp"), ("norm", "norms"),
              ("lm_head", "head")),
    "bert": (("word_embeddings", "embeddings"), ("position_embeddings", "positions"),
             ("token_type_embeddings", "token types"), ("LayerNorm", "norms"), ("attention.", "attention"),
             ("intermediate.", "mlp"), ("output.dense", "mlp"), ("pooler", "pooler")),
    "distilbert": (("word_embeddings", "embeddings"), ("position_embeddings", "positions"), ("LayerNorm", "norms"),
                   ("layer_norm", "norms"), ("attention.", "attention"), ("ffn.", "mlp")),
}
_ARCH = {"GPT2LMHeadModel": "gpt2", "LlamaForCausalLM": "llama", "BertModel": "bert", "DistilBertModel": "distilbert"}


def component(arch: str, name: str) -> str:
    """The ``explainer size`` component a transformers parameter belongs to; an unknown name is an error."""
    for fragment, part in _RULES[arch]:
        if fragment in name:
            return part
    raise ValueError(f"{arch}: no component for parameter {name!r}")


def build(preset: str, **overrides):
    """The transformers model of ``preset`` from its published config (plus ``overrides``), on meta."""
    import transformers

    model_cls, config_cls, values, _ = PUBLISHED[preset]
    config = getattr(transformers, config_cls)(**{**values, **overrides})
    with torch.device("meta"):
        return getattr(transformers, model_cls)(config)


def counts(model) -> dict[str, int]:
    """Parameters per component; tied tensors once (``named_parameters`` yields a shared tensor once)."""
    arch = _ARCH[type(model).__name__]
    out: dict[str, int] = {}
    for name, p in model.named_parameters():
        part = component(arch, name)
        out[part] = out.get(part, 0) + p.numel()
    return out


def compare_preset(preset: str, model=None) -> list[tuple[str, int, int]]:
    """``(component, formula, transformers)`` for every component of ``preset`` (zeros included)."""
    from explainer import sizes

    formula = sizes.breakdown(sizes.preset(preset).config)
    found = counts(model if model is not None else build(preset))
    return [(part, formula.get(part, 0), found.get(part, 0)) for part in dict.fromkeys([*formula, *found])]


@check(COUNT)
def check_presets_by_component(ctx: Context) -> list[Result]:
    try:
        import transformers
    except ImportError:
        return [compare.skipped(COUNT, "presets by component vs transformers models", ("meta", "-"),
                                "transformers is not installed (pip install 'transformer-math-explainer[hf]')")]
    transformers.logging.set_verbosity_error()
    rows = []
    for preset, (model_cls, _, _, source) in PUBLISHED.items():
        model = build(preset)
        for part, formula, actual in compare_preset(preset, model):
            rows.append(compare.exact(COUNT, f"{preset} {part} vs {model_cls} "
                                      f"(transformers {transformers.__version__}) on meta", "meta", formula, actual,
                                      notes=f"{formula:,} vs {actual:,}; config: {source}"))
    return rows
