"""``explainer size``: a model's parameters by component and the memory to hold and train it.

The numbers come from the ``parameter-count`` derivation's formulas (``explainer/sizes.py``); no torch.
"""
from __future__ import annotations

import json

import click

from explainer import sizes
from explainer.errors import UsageError

_SIZE_OPTIONS = ("n_layers", "d_model", "n_heads", "n_kv_heads", "d_ff", "vocab", "n_ctx")


@click.command("size")
@click.argument("preset", required=False, metavar="[PRESET]")
@click.option("--arch", type=click.Choice(sizes.ARCHS), help="Architecture, when giving sizes instead of a PRESET.")
@click.option("--layers", "n_layers", type=int, help="Number of transformer blocks.")
@click.option("--d-model", "d_model", type=int, help="Model width d.")
@click.option("--heads", "n_heads", type=int, help="Attention (query) heads; must divide --d-model.")
@click.option("--kv-heads", "n_kv_heads", type=int, help="Key/value heads (llama; must divide --heads). "
                                                         "Default: --heads.")
@click.option("--d-ff", "d_ff", type=int, help="MLP hidden width. Default for gpt2: 4 × --d-model; llama needs it.")
@click.option("--vocab", type=int, help="Vocabulary size.")
@click.option("--context", "n_ctx", type=int, help="Context length (gpt2 learns one position vector per slot).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (integer 'parameters' field).")
def size_command(preset: str | None, arch: str | None, as_json: bool, **given: int | None) -> None:
    """Count a decoder's parameters by component and the memory to hold and train them.

    PRESET is one of: gpt2-small, gpt2-medium, gpt2-large, gpt2-xl, gpt3-175b, llama3-8b, llama3-70b,
    llama3-405b. Or describe a model with --arch and its sizes. Every distinct tensor is counted once
    (token and position embeddings included; a tied head adds nothing). Memory: GB = 10^9 bytes,
    GiB = 2^30 bytes; mixed-precision Adam training takes 16 bytes per parameter.

    \b
    Examples:
      explainer size gpt2-small
      explainer size llama3-8b --json
      explainer size --arch gpt2 --layers 2 --d-model 64 --heads 4 --vocab 100 --context 32
      explainer size --arch llama --layers 32 --d-model 4096 --heads 32 --kv-heads 8 \\
          --d-ff 14336 --vocab 128256 --context 8192
    """
    config = _config(preset, arch, given)
    result = sizes.report(config, preset)
    click.echo(json.dumps(result, indent=2) if as_json else _text(result))


def _config(preset: str | None, arch: str | None, given: dict) -> sizes.Config:
    """The configuration from a preset name, or from --arch and the size options (not both)."""
    chosen = {k: v for k, v in given.items() if v is not None}
    if preset is not None:
        if arch is not None or chosen:
            raise UsageError("give either a PRESET or --arch with sizes, not both")
        return sizes.preset(preset).config
    if arch is None:
        raise UsageError(f"name a PRESET ({', '.join(sizes.PRESETS)}) or describe a model with --arch gpt2|llama")
    missing = [sizes.OPTIONS[k] for k in ("n_layers", "d_model", "n_heads", "vocab", "n_ctx") if k not in chosen]
    if missing:
        raise UsageError(f"--arch {arch} needs {', '.join(missing)}")
    return sizes.Config(arch, **{k: chosen.get(k) for k in _SIZE_OPTIONS})


def _text(r: dict) -> str:
    """The report as two tables: parameters by component, then memory."""
    c = r["config"]
    style = "GPT-2-style" if c["arch"] == "gpt2" else "Llama-style"
    heads = f"{c['n_heads']} heads" + (f" ({c['n_kv_heads']} key/value)" if c["n_kv_heads"] != c["n_heads"] else "")
    title = f"{r['name']}: " if r["name"] else ""
    lines = [f"{title}{style} decoder, {c['n_layers']} layers, d_model {c['d_model']}, {heads}, d_ff {c['d_ff']}, "
             f"vocab {c['vocab']}, context {c['n_ctx']}", ""]
    total = r["parameters"]
    lines.append(f"  {'component':<11} {'what is counted':<58} {'parameters':>17} {'share':>7}")
    for part, count in r["breakdown"].items():
        what = sizes.COMPONENTS[c["arch"]][part]
        lines.append(f"  {part:<11} {what:<58} {count:>17,} {100 * count / total:>6.1f}%")
    lines.append(f"  {'total':<11} {'':<58} {total:>17,} {'100.0%':>7}  ≈ {_short(total)}")
    if r["published"]:
        lines.append(f"  published as {r['published']} — {r['source']}")
    lines.append(f"  without position embeddings {r['without_position_embeddings']:,}; "
                 f"without any embeddings {r['without_embeddings']:,}")
    gpu = r["gpu_bytes"] // 10**9
    lines += ["", f"Memory just to hold them (activations not counted; GB = 10^9 B, GiB = 2^30 B, "
                  f"an {gpu} GB GPU = {gpu}·10^9 B)",
              f"  {'what':<24} {'B/param':>7} {'bytes':>21} {'GB':>12} {'GiB':>12} {f'{gpu} GB GPUs':>11}"]
    for row in r["memory"]:
        lines.append(f"  {row['what']:<24} {row['bytes_per_parameter']:>7} {row['bytes']:>21,} "
                     f"{row['GB']:>12,.2f} {row['GiB']:>12,.2f} {row['gpus']:>11}")
    lines.append("  mixed precision + Adam, bytes: " + " + ".join(f"{what} {b}" for what, b in r["adam_bytes"].items()))
    return "\n".join(lines)


def _short(count: int) -> str:
    """124439808 -> '124.4M', 8030261248 -> '8.03B'."""
    if count >= 10**9:
        return f"{count / 10**9:.2f}B"
    return f"{count / 10**6:.1f}M"
