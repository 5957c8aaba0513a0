"""The ``explainer verify NAME --world-size P`` branch: sharded derivations across processes."""
from __future__ import annotations

import click

from explainer.distributed import DERIVATIONS
from explainer.errors import UsageError

DEFAULT_WORLD_SIZE = 2


def verify_sharded(names, all_: bool, world_size: int | None, device: str, dtype: str, seed: int,
                   as_json: bool) -> None:
    """Verify each named sharded derivation on ``world_size`` processes; exit 1 if a check failed."""
    from explainer.distributed.verify import as_json as to_json
    from explainer.distributed.verify import report, resolve, verify

    from explainer import registry

    others = [n for n in names if n not in DERIVATIONS]
    registry.get_all(others)   # misspelt names: "unknown derivation …; did you mean …", each one
    if all_ or others or not names:
        what = "--all" if all_ else ", ".join(others) or "no derivation"
        raise UsageError(f"--world-size runs only the sharded derivations ({', '.join(DERIVATIONS)}), not {what}; "
                         "verify the others in a separate call without --world-size")
    size = DEFAULT_WORLD_SIZE if world_size is None else world_size
    for name in names:   # every request is checked before any process starts
        resolve(name, size, device, dtype)
    outcomes = [verify(name, size, device=device, dtype=dtype, seed=seed) for name in names]
    if as_json:
        click.echo(to_json(outcomes[0] if len(outcomes) == 1 else outcomes), nl=False)
    for outcome in () if as_json else outcomes:
        click.echo(report(outcome), nl=False)
    if world_size is None and not as_json:
        click.echo(f"(--world-size not given: ran {DEFAULT_WORLD_SIZE} processes)")
    if not all(o.ok for o in outcomes):
        raise click.exceptions.Exit(1)
