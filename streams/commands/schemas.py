"""``streams schemas export|check``: the JSON Schemas of every topic contract."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import faust
from faust.cli import argument, option

from streams.models.json_schemas import DEFAULT_DIRECTORY, check_schemas, export_schemas
from streams.settings import Settings


def register(app: faust.App, settings: Settings) -> None:
    @app.command(
        argument("action", type=click.Choice(["export", "check"])),
        option("--dir", "directory", type=click.Path(path_type=Path), default=DEFAULT_DIRECTORY,
               help="Where the schema files are."),
    )  # fmt: skip
    async def schemas(self: object, action: str, directory: Path) -> None:
        """JSON Schemas (draft 2020-12) of the records on every topic, from the models.

        \b
        export  write one <contract>.schema.json per contract
        check   exit 1 if a committed file differs from its model
        """
        if action == "export":
            for path in export_schemas(directory):
                print(path)
            return
        stale = check_schemas(directory)
        for name in stale:
            print(f"out of date: {name} (run `streams schemas export`)")
        if stale:
            sys.exit(1)
        print(f"all schemas in {directory} match their models")
