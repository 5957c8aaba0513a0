"""``explainer doctor``."""
from __future__ import annotations

import click


@click.command("doctor")
def doctor_command() -> None:
    """Report versions of Python, sympy, torch and manim, the CUDA device, LaTeX and dvisvgm.

    For each missing piece it says which feature it disables and the command that installs it.

    \b
    Example:
      explainer doctor
    """
    from explainer.doctor import items, report

    click.echo(report(items()), nl=False)
