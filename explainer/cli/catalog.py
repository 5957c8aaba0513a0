"""``explainer list``, ``show`` and ``check``: SymPy only, never torch or manim."""
from __future__ import annotations

import json

import click

from explainer import registry
from explainer.errors import UsageError

module_option = click.option(
    "--module", "-m", "modules", multiple=True, metavar="MODULE",
    help="Import MODULE (dotted name or .py file) first; it registers your own derivations.")


def load_modules(modules) -> None:
    """Import each ``--module`` (it registers the user's own derivations, and maybe numeric checks)."""
    for spec in modules:
        registry.import_user_module(spec)


@click.command("list")
@click.option("--topic", "-t", metavar="TOPIC", help="Only derivations of this topic.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@module_option
def list_command(topic: str | None, as_json: bool, modules) -> None:
    """List the derivations, grouped by topic in teaching order.

    \b
    Example:
      explainer list --topic attention
    """
    load_modules(modules)
    if topic is not None and topic not in registry.topics():
        raise UsageError(registry.unknown_message("topic", topic, registry.topics()))
    found = registry.entries(topic)
    if as_json:
        click.echo(json.dumps([{"name": e.name, "title": e.title, "topic": e.topic} for e in found], indent=2))
        return
    width = max((len(e.name) for e in found), default=0) + 2
    for slug in registry.topics():
        group = [e for e in found if e.topic == slug]
        if group:
            click.echo(click.style(registry.topic_heading(slug), bold=True))
            for e in group:
                click.echo(f"  {e.name:<{width}}{e.title}")


def terminal_format() -> str:
    """``unicode`` when standard output is a terminal that can show it, else ``text`` (pipes, files)."""
    import sys

    encoding = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "")
    return "unicode" if sys.stdout.isatty() and encoding == "utf8" else "text"


@click.command("show")
@click.argument("name")
@click.option("--format", "-f", "fmt", default=None,
              type=click.Choice(["text", "unicode", "latex", "markdown", "json"]),
              help="Output format. Default: unicode on a UTF-8 terminal, else text (2-D ASCII).")
@click.option("--check/--no-check", default=True, show_default=True, help="Check every step and print its status.")
@module_option
def show_command(name: str, fmt: str, check: bool, modules) -> None:
    """Print the derivation NAME step by step, each step with its justification.

    Statuses come from a cache of earlier identical checks when there is one (the output says so);
    'explainer check NAME' always re-runs every proof.

    \b
    Examples:
      explainer show softmax
      explainer show softmax --format latex > softmax.tex
      explainer show dot-product --format json --no-check
    """
    from explainer.cache import cached_check
    from explainer.formats import render

    load_modules(modules)
    d = registry.build(name)
    report = cached_check(d)[0] if check else None
    click.echo(render(d, fmt or terminal_format(), report), nl=False)
    if report is not None and not report.ok:
        failed = ", ".join(r.label for r in report.failures)
        click.echo(f"error: {name}: {failed} failed", err=True)
        raise click.exceptions.Exit(1)


@click.command("check")
@click.argument("names", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Check every registered derivation.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@module_option
def check_command(names: tuple[str, ...], all_: bool, as_json: bool, modules) -> None:
    """Check every step of the named derivations; exit 1 if any step failed.

    \b
    Examples:
      explainer check softmax dot-product
      explainer check --all --json
    """
    from explainer.check import check as run_check
    from explainer.formats.report import report_json, report_table

    load_modules(modules)
    if not names and not all_:
        raise UsageError("name at least one derivation, or use --all (see 'explainer list')")
    chosen = [e.name for e in registry.entries()] if all_ else list(dict.fromkeys(names))
    entries = registry.get_all(chosen)  # unknown names fail before any work
    reports = [run_check(e.build()) for e in entries]
    click.echo(report_json(reports) if as_json else report_table(reports), nl=False)
    if not all(r.ok for r in reports):
        if not as_json:
            for r in reports:
                for f in r.failures:
                    click.echo(f"FAILED {r.name} {f.label}: {f.detail}", err=True)
        raise click.exceptions.Exit(1)
