"""JSON Schemas (draft 2020-12) of the records this system reads and writes, kept in ``schemas/``.

The models are the source of truth; the files are exported from them for other teams and
languages, and a test fails when a model and its committed file disagree.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel

from streams.models.actions import ActionRecord, ActionSwitch
from streams.models.corrections import Correction, TrainingExample
from streams.models.dead_letter import DeadLetterHeaders
from streams.models.replay_marker import ReplayMarker
from streams.models.scored import ScoredStatus
from streams.models.status import Status

DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
#: Base of every schema's ``$id``; a file's ``$id`` is this plus its name. Never change it
#: lightly: consumers may cache schemas by ``$id``.
SCHEMA_ID_BASE: Final = "https://streams.example/schemas/"
#: The repository's ``schemas/`` directory (where ``streams schemas export`` writes).
DEFAULT_DIRECTORY: Final = Path(__file__).resolve().parents[2] / "schemas"

#: File name -> the model it describes.
CONTRACTS: Final[dict[str, type[BaseModel]]] = {
    "mastodon-status.schema.json": Status,
    "scored-status.schema.json": ScoredStatus,
    "correction.schema.json": Correction,
    "training-example.schema.json": TrainingExample,
    "dead-letter-headers.schema.json": DeadLetterHeaders,
    "dlq-replay-marker.schema.json": ReplayMarker,
    "action.schema.json": ActionRecord,
    "action-switch.schema.json": ActionSwitch,
}


def _file_name_of(model: type[BaseModel]) -> str:
    for name, contract in CONTRACTS.items():
        if contract is model:
            return name
    raise ValueError(f"{model.__name__} is not a registered contract; add it to CONTRACTS")


def schema_of(model: type[BaseModel], file_name: str | None = None) -> dict[str, Any]:
    """The JSON Schema of ``model`` with ``$schema`` and ``$id`` set."""
    name = file_name if file_name is not None else _file_name_of(model)
    # Validation mode: the schema says what a reader of the topic accepts.
    schema = model.model_json_schema(mode="validation")
    return {"$schema": DIALECT, "$id": SCHEMA_ID_BASE + name, **schema}


def render_schema(model: type[BaseModel], file_name: str | None = None) -> str:
    """``model``'s schema as the exact text of its file: sorted keys, 2-space indent, newline.

    ``file_name`` defaults to the model's name in ``CONTRACTS``; it sets the ``$id``.
    """
    return json.dumps(schema_of(model, file_name), sort_keys=True, indent=2) + "\n"


def export_schemas(directory: Path = DEFAULT_DIRECTORY) -> list[Path]:
    """Write every contract's schema file into ``directory``; return the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in CONTRACTS.items():
        path = directory / name
        path.write_text(render_schema(model, name), encoding="utf-8", newline="\n")
        written.append(path)
    return written


def check_schemas(directory: Path = DEFAULT_DIRECTORY) -> list[str]:
    """Names of the contract files in ``directory`` that are missing or differ from the models."""
    stale = []
    for name, model in CONTRACTS.items():
        path = directory / name
        if not path.is_file() or path.read_text(encoding="utf-8") != render_schema(model, name):
            stale.append(name)
    return stale


if __name__ == "__main__":
    for written_path in export_schemas():
        print(written_path)
