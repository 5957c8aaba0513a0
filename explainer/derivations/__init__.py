"""Source-checkout stand-in for ``explainer.derivations``: the built-ins live in the top-level ``derivations/``.

``pip install .`` copies that folder here (the package-dir mapping in pyproject.toml), so an installed copy never
reads this file. In a checkout (``pip install -e .``, or ``PYTHONPATH=.`` without installing) this file makes
``explainer.derivations`` that folder: its modules are found there and its own ``__init__.py`` runs here. A user's own
``derivations/`` folder in the current directory is never imported.
"""
from pathlib import Path as _Path

__path__ = [str(_Path(__file__).resolve().parents[2] / "derivations")]
__file__ = str(_Path(__path__[0], "__init__.py"))
exec(compile(_Path(__file__).read_text(encoding="utf-8"), __file__, "exec"))  # noqa: S102 - our own source
del _Path
