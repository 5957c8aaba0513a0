"""The registry: every derivation by name, listed in the order a course teaches them.

Derivation modules register a *builder* with :func:`derivation`; nothing is built until it is asked
for, so ``explainer list`` and ``explainer show NAME`` stay fast. Users add their own with
:func:`register` (a built :class:`~explainer.model.Derivation`) or the same decorator.
"""
from __future__ import annotations

import difflib
import importlib
import pkgutil
import re
from dataclasses import dataclass
from typing import Callable

from explainer.errors import USER_FILES, RegistrationError, UsageError, describe, user_code_location
from explainer.model import Derivation

#: Topics in teaching order: (slug, heading).
TOPICS = (
    ("tokenization", "Tokenization"),
    ("vectors", "Vectors, dot products and linear layers"),
    ("embeddings", "Embeddings"),
    ("positional-encoding", "Positional encodings"),
    ("attention", "Attention"),
    ("transformer-block", "Residuals, normalisation and the MLP"),
    ("training", "Next-token prediction and training"),
    ("model-size", "Model sizes and cost"),
    ("modern-llms", "Today's LLMs"),
    ("parallelism", "Splitting a layer across devices"),
)
_TOPIC_ORDER = {slug: i for i, (slug, _) in enumerate(TOPICS)}
#: Built-in derivations in the order a course teaches them; others follow in registration order.
COURSE = (
    "tokenization", "dot-product", "linear-layer", "embeddings", "positional-encoding",
    "attention-scores", "softmax", "softmax-scaling", "scaled-dot-product-attention", "attention-masks",
    "multi-head-attention", "permutation-equivariance", "residual-layernorm", "feed-forward",
    "lm-head", "cross-entropy", "masked-language-modeling", "distillation",
    "parameter-count", "attention-cost", "training-flops",
    "rotary-positional-encoding", "grouped-query-attention", "kv-cache", "rms-norm", "swiglu",
    "pre-vs-post-layernorm", "online-softmax",
    "tensor-parallel-attention", "tensor-parallel-mlp", "ring-attention",
)
_COURSE_ORDER = {name: i for i, name in enumerate(COURSE)}
NAME_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass(frozen=True, slots=True)
class Entry:
    """A registered derivation: its name, title and topic, and how to build it."""

    name: str
    title: str
    topic: str
    builder: Callable[[], Derivation]
    order: int

    def build(self) -> Derivation:
        """The derivation, built; a builder that does not return a :class:`Derivation` is a UsageError
        naming its file (one that raises in a user's module is reported by the CLI with its line)."""
        built = self.builder()
        if not isinstance(built, Derivation):
            raise UsageError(f"the builder of {self.name!r} ({_where(self.builder)}) returned "
                             f"{type(built).__name__}, not a Derivation")
        return built.with_meta(self.name, self.title, self.topic)


_ENTRIES: dict[str, Entry] = {}
_loaded = False


def derivation(name: str, title: str, topic: str) -> Callable:
    """Decorator: register ``builder()`` (which returns a :class:`Derivation`) under ``name``."""

    def decorate(builder: Callable[[], Derivation]) -> Callable[[], Derivation]:
        _add(Entry(name, title, topic, builder, len(_ENTRIES)))
        return builder

    return decorate


def register(d: Derivation, *, replace: bool = False) -> Derivation:
    """Register an already built derivation (it must carry its name, title and topic)."""
    if not isinstance(d, Derivation):
        raise RegistrationError(f"register() takes a built Derivation, not {type(d).__name__}")
    _add(Entry(d.name, d.title, d.topic, lambda: d, len(_ENTRIES)), replace=replace)
    return d


def unregister(name: str) -> None:
    """Remove ``name`` from the registry (for tests and user code that registered it)."""
    _ENTRIES.pop(name, None)


def _add(entry: Entry, replace: bool = False) -> None:
    """Register ``entry``; a malformed name, a missing title or a name already taken is refused."""
    if not isinstance(entry.name, str) or not NAME_PATTERN.match(entry.name):
        raise RegistrationError(f"derivation name {entry.name!r} must be kebab-case, "
                                "e.g. 'scaled-dot-product-attention'")
    if not entry.title:
        raise RegistrationError(f"derivation {entry.name!r} needs a title")
    existing = _ENTRIES.get(entry.name)
    if existing is not None and not replace and existing.builder is not entry.builder:
        raise RegistrationError(f"a derivation named {entry.name!r} is already registered "
                                f"({_where(existing.builder)}); choose another name")
    _ENTRIES[entry.name] = entry


def _where(builder: Callable) -> str:
    """Where a builder is defined: ``file, line N`` (or its module's name)."""
    code = getattr(builder, "__code__", None)
    if code is None:
        return getattr(builder, "__module__", None) or repr(builder)
    return f"{code.co_filename}, line {code.co_firstlineno}"


def load() -> None:
    """Import every module of the ``derivations`` package once (each registers its builders)."""
    global _loaded
    if _loaded:
        return
    from explainer import derivations

    for info in pkgutil.iter_modules(derivations.__path__):
        importlib.import_module(f"explainer.derivations.{info.name}")
    _loaded = True


def entries(topic: str | None = None) -> list[Entry]:
    """All registered derivations in teaching order, optionally of one topic."""
    load()
    found = [e for e in _ENTRIES.values() if topic is None or e.topic == topic]
    return sorted(found, key=lambda e: (_TOPIC_ORDER.get(e.topic, len(TOPICS)),
                                        _COURSE_ORDER.get(e.name, len(COURSE)), e.order))


def get(name: str) -> Entry:
    """The entry called ``name``; an unknown name raises :class:`UsageError` with the nearest names.

    Only the module that defines ``name`` is imported when it can be found by its source
    (``@derivation("name"``), so ``explainer show NAME`` does not pay for every other module.
    """
    if name not in _ENTRIES:
        _import_defining_module(name)
    if name not in _ENTRIES:
        load()
    if name in _ENTRIES:
        return _ENTRIES[name]
    raise UsageError(unknown_message("derivation", name, list(_ENTRIES)))


def _import_defining_module(name: str) -> None:
    """Import the built-in module whose source registers ``name``, if there is exactly one."""
    from explainer import derivations

    marker = re.compile(rf"""@derivation\(\s*["']{re.escape(name)}["']""")
    for info in pkgutil.iter_modules(derivations.__path__):
        path = f"{derivations.__path__[0]}/{info.name}.py"
        try:
            with open(path, encoding="utf-8") as source:
                found = marker.search(source.read())
        except OSError:
            continue
        if found:
            importlib.import_module(f"explainer.derivations.{info.name}")
            return


def build(name: str) -> Derivation:
    """The derivation called ``name``, built."""
    return get(name).build()


def topics() -> list[str]:
    """Topic slugs that have at least one derivation, in teaching order."""
    present = {e.topic for e in entries()}
    return [slug for slug, _ in TOPICS if slug in present] + sorted(present - set(_TOPIC_ORDER))


def topic_heading(slug: str) -> str:
    return dict(TOPICS).get(slug, slug)


def get_all(names: list[str]) -> list[Entry]:
    """The entries called ``names``; every unknown one is reported (one line each), not just the first."""
    found, unknown = [], []
    for name in names:
        try:
            found.append(get(name))
        except UsageError as exc:
            unknown.append(str(exc))
    if unknown:
        raise UsageError("\n".join(unknown))
    return found


def unknown_message(kind: str, name: str, known: list[str], listing: str = "explainer list") -> str:
    """``unknown derivation 'softmx'; did you mean: softmax?`` — names that contain ``name``, else the
    nearest by difflib; no suggestion when nothing is close."""
    close = [k for k in known if name and name in k][:3] or difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    hint = f"; did you mean: {', '.join(close)}?" if close else ""
    return f"unknown {kind} {name!r}{hint} (see '{listing}')"


def import_user_module(spec: str) -> None:
    """Import a module that registers the user's own derivations: a ``.py`` path or a dotted name.

    The built-ins are registered first, so a user's name that is already taken is refused. Anything
    the module gets wrong (a syntax error, an exception at import, a name taken) is a :class:`UsageError`
    that names the file, the line and the original message.
    """
    import importlib.util
    import sys
    from pathlib import Path

    load()
    path = Path(spec)
    if not spec.strip():
        raise UsageError("--module needs a dotted module name or the path of a .py file, got an empty name")
    if path.is_dir():
        raise UsageError(f"--module {spec}: that is a folder; pass the .py file that registers your derivations "
                         f"(e.g. --module {path / 'my_derivations.py'})")
    if spec.endswith(".py") or path.is_file():
        if not path.is_file():
            raise UsageError(f"module file not found: {spec}")
        path = path.resolve()
        name = f"explainer_user_{path.stem}"
        if getattr(sys.modules.get(name), "__file__", None) == str(path):
            return
        module_spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(module_spec)
        USER_FILES.add(str(path))
        sys.modules[name] = module
        _run_user_code(spec, lambda: module_spec.loader.exec_module(module), lambda: sys.modules.pop(name, None))
        return
    origin = _origin(spec)
    if origin:
        USER_FILES.add(origin)
    _run_user_code(spec, lambda: importlib.import_module(spec), lambda: None)


def _origin(spec: str) -> str | None:
    """The file a dotted module name would load, or None; a name that cannot be one is a UsageError."""
    import importlib.util

    try:
        found = importlib.util.find_spec(spec)
    except ModuleNotFoundError:
        return None
    except (ValueError, ImportError, TypeError) as exc:
        raise UsageError(f"--module {spec!r} is not a module name ({exc}); pass a dotted name or a .py path") from None
    if found is None:
        raise UsageError(f"cannot import {spec!r}: no such module importable from here; to use a file in this "
                         f"folder pass its path (--module {spec.replace('.', '/')}.py)")
    return found.origin


def _run_user_code(spec: str, run: Callable[[], object], undo: Callable[[], object]) -> None:
    """Run the import of a user's module; its errors become UsageErrors with the file and line."""
    try:
        run()
    except Exception as exc:  # the user's own code: any exception is theirs to fix
        undo()
        where = user_code_location(exc)
        if where is None and isinstance(exc, ModuleNotFoundError):
            raise UsageError(f"cannot import {spec!r}: {exc}; to use a file in this folder pass its path "
                             "(--module path/to/file.py)") from None
        raise UsageError(f"error in your module {where or spec}: {describe(exc)}") from None
