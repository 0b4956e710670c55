"""``streams actions stop|resume|status``: the stop switch of the actions, from a shell."""

from __future__ import annotations

import json
import sys

import click
import faust
from faust.cli import argument, option

from streams.errors import StreamsError
from streams.settings import Settings


def register(app: faust.App, settings: Settings) -> None:
    @app.command(
        argument("action", type=click.Choice(["stop", "resume", "status"])),
        option("--reason", default=None, help="Why, kept on the switch's record."),
    )
    async def actions(self: object, action: str, reason: str | None) -> None:
        """Stop or resume the actions on flagged posts (reports, webhooks), or show them.

        \b
        stop    every worker stops acting within a second; scoring goes on
        resume  they act again, on what was scored while they were stopped
        status  the switch, and how many posts are in each action state

        The switch is a record on STREAMS_TOPIC_ACTION_CONTROL, so it holds across restarts.
        Exit status 2 when the broker cannot be reached.
        """
        from streams.actions.topics import flip_switch, read_state

        try:
            if action == "status":
                state = await read_state(settings)
                summary = {
                    "switch": state.switch.as_json(),
                    "actions": dict(sorted(state.ledger.counts().items())),
                    "invalid_records": state.invalid,
                }
                print(json.dumps(summary, indent=2))
                return
            target = "stopped" if action == "stop" else "running"
            record = await flip_switch(settings, target, "command", reason)
        except StreamsError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(2)
        except Exception as exc:
            print(
                f"error: the actions topics at {settings.kafka_bootstrap_servers} cannot be "
                f"read or written ({exc!r}); check the broker (streams kafka status)",
                file=sys.stderr,
            )
            sys.exit(2)
        print(f"actions {record.state} at {record.changed_at.isoformat()}")
