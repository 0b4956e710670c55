"""Click helpers shared by more than one subcommand."""

from __future__ import annotations

from datetime import datetime

import click

from streams.harvest.timefilter import parse_time_bound


def time_bound(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """Callback of a ``--since``/``--until`` option: the bound as an aware UTC datetime, or a
    usage error naming the accepted forms."""
    if value is None:
        return None
    try:
        return parse_time_bound(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
