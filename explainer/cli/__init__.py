"""The ``explainer`` command line. Subcommands load lazily, so ``list``/``show``/``check`` never import
torch or manim (``tests/test_imports.py`` asserts it).

Exit codes: 0 ok, 1 a check failed, 2 usage error (unknown name, impossible size, missing tool),
3 internal error (a bug: please report it; ``EXPLAINER_DEBUG=1`` shows the traceback).
"""
from __future__ import annotations

import difflib
import importlib
import os

import click

from explainer.errors import ExplainerError

#: command name -> "module:attribute"; a module is imported only when its command runs.
COMMANDS = {
    "list": "explainer.cli.catalog:list_command",
    "show": "explainer.cli.catalog:show_command",
    "check": "explainer.cli.catalog:check_command",
    "doctor": "explainer.cli.doctor:doctor_command",
    "size": "explainer.cli.size:size_command",
    "tokenize": "explainer.cli.tokenize:tokenize_group",
    "verify": "explainer.cli.verify:verify_command",
    "scenes": "explainer.cli.render:scenes_command",
    "render": "explainer.cli.render:render_command",
}


class ExitError(click.ClickException):
    """A one-line error with its own exit code."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


class LazyGroup(click.Group):
    """A group that imports each subcommand on first use and turns errors into messages."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute = COMMANDS[name].split(":")
        return getattr(importlib.import_module(module), attribute)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        name = args[0] if args else ""
        if args and not name.startswith("-") and name not in COMMANDS:
            close = difflib.get_close_matches(name, list(COMMANDS), n=3, cutoff=0.5)
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            ctx.fail(f"no such command {name!r}.{hint} See 'explainer --help'.")
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ExplainerError as exc:
            raise ExitError(str(exc), exc.exit_code) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if os.environ.get("EXPLAINER_DEBUG"):
                raise
            raise ExitError(f"internal error: {type(exc).__name__}: {exc}\n"
                            "This is a bug; rerun with EXPLAINER_DEBUG=1 for the traceback and report it.", 3) from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="transformer-math-explainer", prog_name="explainer")
def cli() -> None:
    """Derive, prove, verify and animate the mathematics of transformers.

    \b
    Examples:
      explainer list
      explainer show scaled-dot-product-attention --format latex
      explainer check --all
      explainer doctor
    """


def main() -> None:
    cli(prog_name="explainer")
