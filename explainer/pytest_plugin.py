"""pytest plugin (registered through the ``pytest11`` entry point, so installing the package enables it).

* ``pytest --explainer`` also collects every registered derivation as a test item named
  ``explainer::NAME``: its step check and, where the numeric engine knows it, its verification against
  PyTorch on the CPU (:func:`explainer.testing.assert_derivation_holds`). Your own derivations are
  included once the module that registers them is imported: from a ``conftest.py``, with
  ``--explainer-module MODULE`` (a dotted name or a ``.py`` path, repeatable) or the ini option
  ``explainer_modules``.
* the ``derivation`` fixture: a :class:`DerivationHandle` for the derivation named by
  ``@pytest.mark.derivation(NAME)`` or by indirect parametrization::

      @pytest.mark.derivation("softmax")
      def test_my_softmax(derivation):
          derivation.assert_matches(my_softmax)

      @pytest.mark.parametrize("derivation", ["softmax", "dot-product"], indirect=True)
      def test_holds(derivation):
          derivation.assert_holds()

Without ``--explainer`` the plugin only registers its option, marker and fixture: it imports neither
torch nor sympy, so other projects' test runs are not slowed down.
"""
from __future__ import annotations

import pytest

ITEM_PREFIX = "explainer"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("explainer", "transformer-math explainer derivations")
    group.addoption("--explainer", action="store_true", default=False,
                    help="collect every registered derivation as a test: step check + CPU verification")
    group.addoption("--explainer-module", action="append", default=[], metavar="MODULE",
                    help="import MODULE (dotted name or .py path) first, so its derivations are registered")
    parser.addini("explainer_modules", type="linelist", default=[],
                  help="modules that register your own derivations (imported with --explainer)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "derivation(name): the derivation the `derivation` fixture stands for")


@pytest.hookimpl(tryfirst=True)  # before -k / -m deselect, so they apply to derivations too
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    if not config.getoption("explainer"):
        return
    collector = DerivationCollector.from_parent(session, name=ITEM_PREFIX, nodeid=ITEM_PREFIX)
    hook = config.hook  # the hooks a collector goes through, so the terminal counts and reports it
    hook.pytest_collectstart(collector=collector)
    report = hook.pytest_make_collect_report(collector=collector)
    hook.pytest_collectreport(report=report)
    if report.passed:
        items.extend(report.result)


class DerivationCollector(pytest.Collector):
    """Every registered derivation, in teaching order."""

    def collect(self) -> list[pytest.Item]:
        from explainer import registry

        config = self.config
        for spec in [*config.getini("explainer_modules"), *config.getoption("explainer_module")]:
            registry.import_user_module(spec)

        return [DerivationItem.from_parent(self, name=entry.name) for entry in registry.entries()]


    def repr_failure(self, excinfo):
        from explainer.errors import ExplainerError

        if isinstance(excinfo.value, ExplainerError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class DerivationItem(pytest.Item):
    """One derivation: every step checked, then verified against PyTorch on the CPU where possible."""

    def runtest(self) -> None:
        from explainer.testing import assert_derivation_holds

        assert_derivation_holds(self.name)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, AssertionError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, None, f"derivation {self.name}"


class DerivationHandle:
    """What the ``derivation`` fixture gives a test: one derivation by name, and its checks."""

    def __init__(self, name: str):
        from explainer import registry

        registry.get(name)  # an unknown name fails at once, with suggestions
        self.name = name

    def build(self):
        """The :class:`explainer.model.Derivation` itself (steps, result, closed forms)."""
        from explainer import registry

        return registry.build(self.name)

    def assert_matches(self, fn, **options):
        """:func:`explainer.testing.assert_matches_derivation` for this derivation."""
        __tracebackhide__ = True
        from explainer.testing import assert_matches_derivation

        return assert_matches_derivation(self.name, fn, **options)

    def assert_holds(self):
        """:func:`explainer.testing.assert_derivation_holds` for this derivation."""
        __tracebackhide__ = True
        from explainer.testing import assert_derivation_holds

        return assert_derivation_holds(self.name)

    def __repr__(self) -> str:
        return f"<derivation {self.name}>"


@pytest.fixture
def derivation(request: pytest.FixtureRequest) -> DerivationHandle:
    """The derivation named by ``@pytest.mark.derivation(NAME)`` or ``parametrize(..., indirect=True)``."""
    name = getattr(request, "param", None)
    if name is None:
        marker = request.node.get_closest_marker("derivation")
        if marker is None or not marker.args:
            pytest.fail("the `derivation` fixture needs a name: @pytest.mark.derivation('softmax') or "
                        "@pytest.mark.parametrize('derivation', ['softmax'], indirect=True)", pytrace=False)
        name = marker.args[0]
    from explainer.errors import UsageError

    try:
        return DerivationHandle(name)
    except UsageError as exc:
        pytest.fail(str(exc), pytrace=False)
