"""The ``explainer`` command line. Subcommands load lazily, so ``list``/``show``/``check`` never import
torch or manim (``tests/test_imports.py`` asserts it).

Exit codes: 0 ok, 1 a check failed, 2 usage error (unknown name, impossible size, missing tool, an
error in the user's own module, an unusable path), 3 internal error (a bug: please report it;
``EXPLAINER_DEBUG=1`` shows the traceback), 130 interrupted (Ctrl-C), 141 the reader of the output went
away (``explainer list | head -1``: nothing more is printed, like any Unix tool killed by SIGPIPE).
"""
from __future__ import annotations

import difflib
import errno
import importlib
import os
import sys
import traceback

import click

from explainer.errors import ExplainerError, describe, user_code_location

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
            close = difflib.get_close_matches(name, list(COMMANDS), n=3, cutoff=0.6)
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            ctx.fail(f"no such command {name!r}.{hint} See 'explainer --help'.")
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context):
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()  # a full disk or a closed pipe shows here, not after the exit code is chosen
            return result
        except ExplainerError as exc:
            raise ExitError(str(exc), exc.exit_code) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            raise ExitError("interrupted", INTERRUPTED) from None
        except Exception as exc:
            raise _users_error(exc) or _environment_error(exc) or _bug(exc) from None


INTERRUPTED = 130  # 128 + SIGINT, what shells expect after Ctrl-C
PIPE_CLOSED = 141  # 128 + SIGPIPE, what a Unix tool killed by a closed pipe reports


def _users_error(exc: Exception) -> ExitError | None:
    """Exit 2 for an exception raised in a user's own module (``--module``): its file, line and message."""
    where = user_code_location(exc)
    return ExitError(f"error in your module {where}: {describe(exc)}", 2) if where else None


def _environment_error(exc: Exception) -> click.ClickException | click.exceptions.Exit | None:
    """A closed pipe (quiet exit 141), an output the terminal's encoding cannot print or a file
    system that refuses a write (exit 2, saying what to do); None for anything else."""
    if isinstance(exc, BrokenPipeError) or getattr(exc, "errno", None) == errno.EPIPE:
        _silence_stdout()
        return click.exceptions.Exit(PIPE_CLOSED)
    if isinstance(exc, UnicodeEncodeError):
        return ExitError(f"the output encoding {exc.encoding} cannot print {exc.object[exc.start:exc.end]!r}; "
                         "set PYTHONIOENCODING=utf-8 (or a UTF-8 locale, e.g. LC_ALL=C.UTF-8) and run it again", 2)
    if isinstance(exc, OSError) and exc.errno is not None:
        where = repr(exc.filename) if exc.filename is not None else "the output"
        todo = _WHAT_TO_DO.get(exc.errno, "check the path and its permissions")
        return ExitError(f"cannot write {where}: {exc.strerror or exc}; {todo}", 2)
    return None


_WHAT_TO_DO = {errno.ENOSPC: "free some space or write somewhere else",
               errno.EDQUOT: "free some space or write somewhere else",
               errno.EROFS: "write to a writable place instead",
               errno.EACCES: "write to a folder you may write to"}


def _bug(exc: Exception) -> ExitError:
    """Exit 3 with the exception's type and message (and, under ``EXPLAINER_DEBUG=1``, its traceback)."""
    if os.environ.get("EXPLAINER_DEBUG"):
        traceback.print_exception(exc, file=sys.stderr)
        return ExitError(f"internal error: {type(exc).__name__}: {exc}\nThis is a bug; please report it "
                         "with the traceback above.", 3)
    return ExitError(f"internal error: {type(exc).__name__}: {exc}\n"
                     "This is a bug; rerun with EXPLAINER_DEBUG=1 for the traceback and report it.", 3)


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush cannot fail on the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (a test runner's buffer)
        pass


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
    """Run the CLI; Ctrl-C anywhere (even before a command starts) exits 130, not click's 1."""
    try:
        code = cli.main(prog_name="explainer", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("\nInterrupted.", err=True)
        code = INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    sys.exit(code if isinstance(code, int) else 0)
