"""The dead-letter contract of ``statuses.dlq``.

A dead letter's key and value are the original record's key and value bytes, untouched (a
tombstone stays empty), so the record can be replayed as it was. Everything about the failure
travels in Kafka headers named ``dlq.<field>`` whose values are UTF-8 text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, AwareDatetime, Field

from streams.models.base import Record

HEADER_PREFIX: Final = "dlq."
MAX_MESSAGE_CHARS: Final = 500
REDACTED: Final = "[REDACTED]"

Stage = Literal["parse", "score", "harvest", "produce"]

_KEY_NAMES: Final = r"(?:api[_-]?key|access[_-]?token|token|secret|password|passwd|pwd)"
_SECRETS: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    # OpenAI-style keys: sk-..., sk-proj-...
    (re.compile(r"\bsk-[A-Za-z0-9_-]{8,}"), REDACTED),
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+"), rf"\1 {REDACTED}"),
    # scheme://user:password@host keeps the user, so the message still says whose login failed.
    (re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*):[^\s/@]+@"), rf"\1:{REDACTED}@"),
    # key=value and "key": "value" forms; a quoted value may hold spaces.
    (
        re.compile(rf"(?i)\b({_KEY_NAMES}[\"']?\s*[=:]\s*)([\"'])(?:(?!\2)[^\n])*\2"),
        rf"\1\2{REDACTED}\2",
    ),
    (re.compile(rf"(?i)\b({_KEY_NAMES}[\"']?\s*[=:]\s*)(?![\[\"'])[^\s\"'&,;]+"), rf"\1{REDACTED}"),
)


def redact(text: str) -> str:
    """``text`` with API keys, bearer tokens and passwords replaced, cut to 500 characters."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[: MAX_MESSAGE_CHARS - 1] + "…"
    return text


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def key_text(key: bytes | None) -> str | None:
    """A record key as header text; bytes that are not UTF-8 are shown as ``\\xNN`` escapes."""
    return None if key is None else key.decode("utf-8", errors="backslashreplace")


class DeadLetterHeaders(Record):
    """Why and where a record failed; carried as ``dlq.*`` headers of the dead letter."""

    schema_version: Literal[1] = 1
    stage: Stage = Field(description="Where it failed: parse, score, harvest or produce.")
    error_class: str = Field(min_length=1, description="Exception class name.")
    reason: str = Field(
        pattern=r"^[a-z][a-z0-9_]{0,63}$",
        description='Machine-readable code, e.g. "invalid_json", "llm_reply_missing_item".',
    )
    message: Annotated[str, AfterValidator(redact)] = Field(
        "", description="Human-readable detail, secrets redacted, at most 500 characters."
    )
    attempts: int = Field(1, ge=1, description="Tries made before giving up.")
    first_failure_at: Annotated[AwareDatetime, AfterValidator(_to_utc)]
    original_topic: str = Field(min_length=1)
    original_partition: int = Field(ge=0)
    original_offset: int = Field(ge=0)
    original_key: str | None = Field(None, description="The original key as text, if any.")

    def to_headers(self) -> list[tuple[str, bytes]]:
        """``dlq.<field>`` headers in field order; a None field has no header."""
        data = self.model_dump(mode="json")
        return [
            (HEADER_PREFIX + name, str(value).encode("utf-8"))
            for name, value in data.items()
            if value is not None
        ]

    @classmethod
    def from_headers(
        cls, headers: Iterable[tuple[str, bytes]] | Mapping[str, bytes]
    ) -> DeadLetterHeaders:
        """Read the ``dlq.*`` headers back; other headers and unknown ``dlq.*`` names are ignored.

        Raises ``ValueError`` (``pydantic.ValidationError`` included) when one is missing,
        repeated, not UTF-8 or invalid.
        """
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        values: dict[str, Any] = {}
        for name, raw in pairs:
            field = name.removeprefix(HEADER_PREFIX)
            if not name.startswith(HEADER_PREFIX) or field not in cls.model_fields:
                continue  # newer writers may add headers; readers must not break on them
            if field in values:
                raise ValueError(f"header {name} appears twice")
            values[field] = raw.decode("utf-8")
        if "schema_version" in values:
            # validate_strings reads ints and datetimes from text, but not Literal[1].
            version = values.pop("schema_version")
            if version != "1":
                raise ValueError(f"unsupported dlq.schema_version {version!r}")
        return cls.model_validate_strings(values)
