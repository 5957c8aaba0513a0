"""``explainer scenes`` (manim-free listing) and ``explainer render`` (imports manim when it runs)."""
from __future__ import annotations

import sys

import click

from explainer import scenes
from explainer.errors import UsageError


@click.command("scenes")
def scenes_command() -> None:
    """List the scenes that ``explainer render`` can make, each with a one-line description.

    \b
    Example:
      explainer scenes
    """
    found = scenes.available()
    width = max(len(name) for name in found) + 2
    for name, text in found.items():
        click.echo(f"{name:<{width}}{text}")
    from explainer import registry

    names = ", ".join(e.name for e in registry.entries())
    click.echo(f"\n{'':<{width}}NAME is any derivation: {names}")


@click.command("render")
@click.argument("names", nargs=-1, metavar="SCENE...")
@click.option("--all", "all_", is_flag=True,
              help="Render every scene (derivation scenes only when named as well).")
@click.option("--quality", "-q", default="low", show_default=True, type=click.Choice(["low", "medium", "high", "4k"]),
              help="854×480@15, 1280×720@30, 1920×1080@60 or 3840×2160@60.")
@click.option("--format", "-f", "fmt", default="mp4", show_default=True, type=click.Choice(["mp4", "gif", "png"]),
              help="A video, an animated GIF, or the last frame as a PNG.")
@click.option("--output", "-o", default="media", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the finished files (created if needed).")
@click.option("--no-cache", is_flag=True, help="Re-render every animation instead of reusing Manim's cache.")
@click.option("--pace", default="normal", show_default=True, type=click.Choice(["slow", "normal", "fast"]),
              help="How long each step stays still to be read: ×1.5, ×1 or ×0.75 of its reading time.")
@click.option("--voice", is_flag=True,
              help="Narrate a derivation video's captions offline with espeak-ng (the speech sets each step's time).")
def render_command(names: tuple[str, ...], all_: bool, quality: str, fmt: str, output: str, no_cache: bool,
                   pace: str, voice: bool) -> None:
    """Render SCENE... (see 'explainer scenes') to OUTPUT/<scene>.<format> and print each path; a video's
    subtitles (.srt) and chapters (.chapters.vtt) are written beside it and printed under it.

    \b
    Examples:
      explainer render dot-product-alignment positional-encoding-waves
      explainer render derivation:softmax --quality medium --format gif
      explainer render --all --output videos
    """
    from explainer.render import output_dir, render, require_tools, sidecars

    every = [n for n in scenes.available() if not n.startswith(scenes.DERIVATION_PREFIX)] if all_ else []
    chosen = list(dict.fromkeys([*every, *names]))  # --all plus any named (e.g. derivation:NAME), each once
    if not chosen:
        raise UsageError("name at least one scene (see 'explainer scenes') or pass --all")
    for name in chosen:  # every name, the tools and the folder are checked before anything renders
        if scenes.resolve(name)[1] is None and voice:
            raise UsageError(f"--voice narrates derivation videos (derivation:NAME), not {name!r}")
    require_tools()
    output_dir(output)
    for i, name in enumerate(chosen, 1):
        label = f"[{i}/{len(chosen)}] {name}"
        with click.progressbar(length=1000, label=label, file=sys.stderr,
                               show_eta=False) as bar:
            def advance(done: float, total: float) -> None:
                bar.update(int(1000 * done / total) - bar.pos if total else 0)

            path = render(name, quality=quality, fmt=fmt, output=output, caching=not no_cache,
                          on_progress=advance, pace=pace, voice=voice)
            bar.update(1000 - bar.pos)
        click.echo(str(path))
        for kind, extra in sidecars(path).items():
            click.echo(f"  {kind}: {extra}")
