"""Mastodon's Status entity as the raw topic carries it, and the text of a status to score
(its HTML is rendered by ``streams.models.status_html``).

Pure: no Kafka. ``parse_raw_record`` turns one raw record (key, value bytes) into either a
``StatusToScore`` or a ``StatusDeleted``, or raises ``RawRecordError`` (an ``InvalidRecordError``)
with a reason code and a short message.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from streams.errors import InvalidRecordError
from streams.models.status_html import html_to_text
from streams.models.status_sections import StatusSections, build_sections

#: Deepest JSON nesting accepted. A Mastodon status nests about six levels (a boost adds two);
#: the cap keeps hostile input from reaching the recursion limits of json and pydantic.
MAX_JSON_DEPTH: Final = 64

#: Longest text of a status. Mastodon allows 500 characters and 1,500 per alt text by default;
#: a text near the broker's record size (1 MB) fits in no record built from it (the
#: harvester's text table, a training example), and the model reads only its first few
#: thousand characters. 50,000 characters stay under 1 MB even as JSON \u escapes.
MAX_STATUS_TEXT_CHARS: Final = 50_000

#: Keys an id-only deletion record may carry besides ``id``.
DELETION_MARKERS: Final = frozenset({"deleted", "event"})

# Printable ASCII without spaces: the id becomes the Kafka key, a header value and a log field.
_ID_PATTERN: Final = r"^[!-~]{1,128}$"
_ID: Final = re.compile(_ID_PATTERN)
StatusId = Annotated[str, Field(pattern=_ID_PATTERN, strict=True)]
#: An account id as records carry it: the same shape as a status id.
AccountId = Annotated[str, Field(pattern=_ID_PATTERN, strict=True)]


def _none_to_empty(value: Any) -> Any:
    return "" if value is None else value


def _none_to_no_items(value: Any) -> Any:
    return [] if value is None else value


def _blank_to_none(value: Any) -> Any:
    # Some servers send "" for an undetected language or alt text; it means the same as null.
    return None if isinstance(value, str) and not value.strip() else value


#: A language tag as Mastodon sends it: ISO 639-1/3, optionally with a region or script
#: ("en", "kmr", "zh-TW", "pt_BR"); at most 35 characters, as BCP 47 advises.
_LANGUAGE: Final = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,3}")


def _language_or_none(value: Any) -> Any:
    # The language goes into every prompt uncut and onto the scored record: a string that is
    # no language tag (a megabyte, a lone surrogate, an instruction to the model) is unknown.
    if isinstance(value, str) and not (len(value) <= 35 and _LANGUAGE.fullmatch(value)):
        return None
    return value


# null is read as "" / [] so that code downstream never has to tell the two apart.
Text = Annotated[str, BeforeValidator(_none_to_empty, json_schema_input_type=str | None)]
OptionalText = Annotated[str | None, BeforeValidator(_blank_to_none)]
LanguageTag = Annotated[str | None, BeforeValidator(_language_or_none)]
_Lenient = ConfigDict(extra="ignore", frozen=True)


class Account(BaseModel):
    """The author of a status (only what logs and moderators need)."""

    model_config = _Lenient

    id: str | None = None
    acct: str | None = None
    username: str | None = None
    url: str | None = None


class MediaAttachment(BaseModel):
    """A media attachment; its description (alt text) is scored too."""

    model_config = _Lenient

    id: str | None = None
    type: str | None = None
    description: OptionalText = None


class PollOption(BaseModel):
    """One answer of a poll."""

    model_config = _Lenient

    title: Text = ""


class Poll(BaseModel):
    """A poll; its option titles are text the author wrote, so they are scored too."""

    model_config = _Lenient

    options: Annotated[
        list[PollOption],
        BeforeValidator(_none_to_no_items, json_schema_input_type=list[PollOption] | None),
    ] = []


class Status(BaseModel):
    """A Mastodon Status as its REST and streaming APIs return it.

    Reads what scoring needs and ignores every other field, so new Mastodon versions and other
    servers' extensions never make a record invalid.
    """

    model_config = ConfigDict(
        extra="ignore", frozen=True, json_schema_extra={"additionalProperties": True}
    )

    id: StatusId = Field(description="Status id (a string, usually digits); the record key.")
    created_at: datetime | None = None
    edited_at: datetime | None = Field(None, description="Set when the status was edited.")
    content: Text = Field("", description="HTML body.")
    spoiler_text: Text = Field("", description="Content warning shown before the body.")
    # A string that is no language tag reads as null (see _language_or_none).
    language: LanguageTag = Field(None, description="ISO 639 code, or null when unknown.")
    reblog: Status | None = Field(None, description="The boosted status, for a boost.")
    media_attachments: Annotated[
        list[MediaAttachment],
        BeforeValidator(_none_to_no_items, json_schema_input_type=list[MediaAttachment] | None),
    ] = []
    poll: Poll | None = None
    account: Account | None = None
    url: str | None = None
    uri: str | None = None
    visibility: str | None = None
    sensitive: bool | None = None


def scoring_target(status: Status) -> Status:
    """The status to score: the boosted one for a boost, else ``status`` itself."""
    # Mastodon never boosts a boost, but following the chain costs nothing and is safe.
    while status.reblog is not None:
        status = status.reblog
    return status


def status_sections(status: Status) -> StatusSections:
    """The sections of ``status``'s text (pass the ``scoring_target`` of a boost)."""
    return build_sections(
        status.spoiler_text,
        html_to_text(status.content),
        [o.title for o in status.poll.options] if status.poll else [],
        [m.description or "" for m in status.media_attachments],
        MAX_STATUS_TEXT_CHARS,
    )


def author_id(status: Status) -> str | None:
    """The id of ``status``'s author when it is one a key or a report can carry, else None.

    An odd account id must not cost the post its scores, so it reads as unknown instead.
    """
    account_id = status.account.id if status.account is not None else None
    return account_id if account_id is not None and _ID.fullmatch(account_id) else None


def status_text(status: Status) -> str:
    """The text to score for ``status`` (pass the ``scoring_target`` of a boost).

    Sections, separated by a blank line: ``Content warning: <spoiler text>``, the body, one
    ``Poll option: <title>`` line per option, one ``Alt text: <description>`` line per media
    attachment that has one. Empty sections are left out; the result may be "". At most
    ``MAX_STATUS_TEXT_CHARS``: the body's end gives way first (see ``build_sections``).
    """
    return status_sections(status).text()


# --- raw records -----------------------------------------------------------------------


class RawRecordError(InvalidRecordError):
    """A raw record is unusable. ``code`` is its dead-letter reason, e.g. ``invalid_json``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class StatusToScore:
    """A status to score, keyed by ``status_id``, the raw record's own id; for a boost,
    ``reblog_of`` is the boosted status's id and ``text``, ``language`` and ``status`` are the
    boosted status's."""

    status_id: str
    text: str
    language: str | None
    edited: bool
    status: Status
    reblog_of: str | None = None


@dataclass(frozen=True, slots=True)
class StatusDeleted:
    """A status was deleted: its scores and cached text should be dropped."""

    status_id: str


ParsedRaw = StatusToScore | StatusDeleted


_TOO_DEEP: Final = f"JSON nested deeper than {MAX_JSON_DEPTH} levels"


class _Rejected(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _Rejected(f"{name} is not a JSON number")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise _Rejected(f"number {literal[:40]} is out of range")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Rejected(f"duplicate key {key[:40]!r}")
        result[key] = value
    return result


def _too_deep(value: Any) -> bool:
    # Iterative, so the check itself cannot overflow the stack.
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def _json_type(value: Any) -> str:
    names = {list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def load_json_object(value: bytes) -> dict[str, Any]:
    """Decode ``value`` as one JSON object, strictly, or raise ``RawRecordError``.

    Rejects invalid UTF-8, NaN/Infinity and out-of-range numbers, duplicate keys, and nesting
    deeper than ``MAX_JSON_DEPTH``.
    """
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RawRecordError("invalid_utf8", f"value is not UTF-8 (byte {exc.start})") from None
    try:
        data = json.loads(
            text,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
            object_pairs_hook=_unique_keys,
        )
    except json.JSONDecodeError as exc:
        raise RawRecordError("invalid_json", f"invalid JSON: {exc.msg} at {exc.pos}") from None
    except RecursionError:
        raise RawRecordError("too_deep", _TOO_DEEP) from None
    except ValueError as exc:  # ours, or an integer longer than Python converts
        raise RawRecordError("invalid_json", f"invalid JSON: {str(exc)[:100]}") from None
    if not isinstance(data, dict):
        raise RawRecordError("not_an_object", f"value is a JSON {_json_type(data)}, not an object")
    # Nesting needs an opening bracket per level: fewer in the bytes (in strings too) cannot
    # be too deep, and counting them is much cheaper than walking the decoded value.
    openers = value.count(b"{") + value.count(b"[")
    if openers > MAX_JSON_DEPTH and _too_deep(data):
        raise RawRecordError("too_deep", _TOO_DEEP)
    return data


def _deletion_id(data: dict[str, Any]) -> str | None:
    """The id if ``data`` is a deletion record, else None."""
    marked = data.get("deleted") is True or data.get("event") == "delete"
    id_only = set(data) <= {"id"} | DELETION_MARKERS
    if not marked and not id_only:
        return None
    if not marked and set(data) & DELETION_MARKERS:
        raise RawRecordError("invalid_deletion", "id-only record with a marker that is no deletion")
    if not isinstance(data["id"], str) or not _ID.fullmatch(data["id"]):
        raise RawRecordError("invalid_deletion", "deletion record has no valid string id")
    return data["id"]


def _validation_message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "record"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"field {where}: {first['msg']}{more}"


def parse_raw_record(key: bytes | None, value: bytes | None) -> ParsedRaw:
    """Parse one record of the raw topic.

    * A tombstone (value None or empty) deletes the status named by the key.
    * A JSON object with only ``id`` (and optionally ``deleted``/``event`` markers), or one
      marked ``"deleted": true`` or ``"event": "delete"``, deletes that id.
    * Anything else must be a Status; a boost is scored as the status it boosts, keyed by its
      own id (every record of one post shares the raw record's key), naming the boosted id.

    The id in the value is the truth: a key, unless absent or empty, must equal it.
    Raises ``RawRecordError`` (an ``InvalidRecordError``) with a code and a short reason, and
    nothing else, whatever the bytes.
    """
    key_text = _decode_key(key)
    if not value:
        if key_text is None or not _ID.fullmatch(key_text):
            raise RawRecordError("invalid_key", "tombstone without a valid status id as key")
        return StatusDeleted(status_id=key_text)
    data = load_json_object(value)
    if "id" not in data:
        raise RawRecordError("missing_id", "record has no id")
    deleted_id = _deletion_id(data)
    if deleted_id is not None:
        _check_key(key_text, deleted_id)
        return StatusDeleted(status_id=deleted_id)
    try:
        status = Status.model_validate(data)
    except ValidationError as exc:
        raise RawRecordError("invalid_field", _validation_message(exc)) from None
    _check_key(key_text, status.id)
    target = scoring_target(status)
    try:
        text = status_text(target)
    except Exception as exc:
        # The renderer is the standard library's html.parser, which has raised on odd markup
        # before; whatever it raises, the post is a dead letter, not a stopped partition.
        raise RawRecordError(
            "invalid_content", f"content cannot be rendered as text ({type(exc).__name__})"
        ) from None
    return StatusToScore(
        status_id=status.id,
        text=text,
        language=target.language,
        edited=target.edited_at is not None,
        status=target,
        reblog_of=target.id if target is not status else None,
    )


def _decode_key(key: bytes | None) -> str | None:
    if not key:
        return None  # no key, or an empty one: the value's id decides
    try:
        return key.decode("utf-8")
    except UnicodeDecodeError:
        raise RawRecordError("invalid_key", "key is not UTF-8") from None


def _check_key(key_text: str | None, status_id: str) -> None:
    if key_text is not None and key_text != status_id:
        raise RawRecordError(
            "key_mismatch", f"key {key_text[:40]!r} does not match id {status_id!r}"
        )
