"""Base class of the records this system publishes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Record(BaseModel):
    """A record this system writes to a topic or file.

    Strict about what it publishes (unknown fields are an error, values are immutable), so that
    a record that validates here also validates against its JSON Schema in ``schemas/``.
    Subclasses declare ``schema_version: Literal[N] = N`` and bump N on a breaking change.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def to_bytes(self) -> bytes:
        """The record as compact UTF-8 JSON, as it goes on the wire."""
        return self.model_dump_json().encode()
