from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.errors import InvalidRecordError
from streams.models.status import (
    MAX_JSON_DEPTH,
    RawRecordError,
    StatusDeleted,
    StatusToScore,
    parse_raw_record,
)

DATA = Path(__file__).parents[1] / "data"


def raw(**fields: Any) -> bytes:
    return json.dumps({"id": "42", "content": "<p>hello</p>", **fields}).encode()


def scored(key: bytes | None, value: bytes | None) -> StatusToScore:
    parsed = parse_raw_record(key, value)
    assert isinstance(parsed, StatusToScore)
    return parsed


def test_docs_example_becomes_a_status_to_score() -> None:
    value = (DATA / "mastodon_status_example.json").read_bytes()
    parsed = scored(b"103270115826048975", value)
    assert parsed.status_id == "103270115826048975"
    assert parsed.language == "en"
    assert parsed.edited is False
    assert parsed.reblog_of is None
    assert parsed.text.startswith('"I lost my inheritance')
    assert parsed.status.account is not None and parsed.status.account.acct == "Gargron"


@pytest.mark.parametrize("key", [None, b"", b"42"])
def test_key_may_be_absent_empty_or_equal_to_the_id(key: bytes | None) -> None:
    assert scored(key, raw()).status_id == "42"


def test_key_that_disagrees_with_the_id_is_an_error() -> None:
    with pytest.raises(RawRecordError, match="key '43' does not match id '42'") as info:
        parse_raw_record(b"43", raw())
    assert info.value.code == "key_mismatch"


def test_boost_keeps_its_own_key_and_is_scored_as_the_boosted_status() -> None:
    inner = {
        "id": "7",
        "content": "<p>the original</p>",
        "language": "fr",
        "edited_at": "2024-05-01T10:00:00Z",
    }
    parsed = scored(b"42", raw(content="", language="en", reblog=inner))
    assert parsed.status_id == "42"
    assert parsed.reblog_of == "7"
    assert parsed.text == "the original"
    assert parsed.language == "fr"
    assert parsed.edited is True


def test_edited_status_is_flagged_as_edited() -> None:
    assert scored(None, raw(edited_at="2024-05-01T10:00:00.123Z")).edited is True
    assert scored(None, raw(edited_at=None)).edited is False


@pytest.mark.parametrize("language", [None, "", "  "])
def test_unknown_language_is_none(language: str | None) -> None:
    assert scored(None, raw(language=language)).language is None


def test_only_an_id_and_content_are_needed() -> None:
    parsed = scored(None, b'{"id": "1", "content": "<p>hi</p>"}')
    assert (parsed.status_id, parsed.text, parsed.language, parsed.edited) == (
        "1",
        "hi",
        None,
        False,
    )


def test_unknown_fields_are_ignored() -> None:
    parsed = scored(None, raw(quote={"state": "accepted"}, x_custom=[1, {"a": None}], emojis=[]))
    assert parsed.text == "hello"


def test_content_warning_and_alt_text_reach_the_text() -> None:
    value = raw(spoiler_text="cw", media_attachments=[{"id": "1", "description": "alt"}])
    parsed = scored(None, value)
    assert "Content warning: cw" in parsed.text
    assert "Alt text: alt" in parsed.text


@pytest.mark.parametrize("value", [None, b""])
def test_tombstone_deletes_the_keyed_status(value: bytes | None) -> None:
    assert parse_raw_record(b"42", value) == StatusDeleted(status_id="42")


@pytest.mark.parametrize(
    "value",
    [
        b'{"id": "42"}',
        b'{"id": "42", "deleted": true}',
        b'{"id": "42", "event": "delete"}',
        b'{"id": "42", "event": "delete", "deleted": true}',
        # A producer forwarding the status it deleted, marked as such.
        b'{"id": "42", "content": "<p>gone</p>", "deleted": true}',
    ],
)
def test_deletion_records(value: bytes) -> None:
    assert parse_raw_record(b"42", value) == StatusDeleted(status_id="42")
    assert parse_raw_record(None, value) == StatusDeleted(status_id="42")


def test_deletion_key_must_match_its_id() -> None:
    with pytest.raises(RawRecordError) as info:
        parse_raw_record(b"41", b'{"id": "42"}')
    assert info.value.code == "key_mismatch"


DEEP_ARRAYS = b'{"id": "1", "x": ' + b"[" * 200 + b"]" * 200 + b"}"
DEEPER_THAN_PYTHON = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECTS = b'{"a": ' * 5000 + b"1" + b"}" * 5000


@pytest.mark.parametrize(
    ("key", "value", "code", "message"),
    [
        (None, b"not json", "invalid_json", "invalid JSON"),
        (None, b'{"id": "1",}', "invalid_json", "invalid JSON"),
        (None, b"[1, 2]", "not_an_object", "array"),
        (None, b'"42"', "not_an_object", "string"),
        (None, b"null", "not_an_object", "null"),
        (None, b"3", "not_an_object", "number"),
        (None, b'{"content": "<p>x</p>"}', "missing_id", "no id"),
        (None, b'{"id": 42, "content": "x"}', "invalid_field", "field id"),
        (None, b'{"id": "a b", "content": "x"}', "invalid_field", "field id"),
        (None, b'{"id": "", "content": "x"}', "invalid_field", "field id"),
        (None, b'{"id": "1", "content": ["x"]}', "invalid_field", "field content"),
        (None, b'{"id": "1", "edited_at": "yesterday"}', "invalid_field", "field edited_at"),
        (None, b'{"id": "1", "reblog": "7"}', "invalid_field", "field reblog"),
        (None, b'{"id": "1", "reblog": {"content": "x"}}', "invalid_field", "field reblog.id"),
        (None, b'{"id": "1", "x": NaN}', "invalid_json", "NaN"),
        (None, b'{"id": "1", "x": Infinity}', "invalid_json", "Infinity"),
        (None, b'{"id": "1", "x": -Infinity}', "invalid_json", "-Infinity"),
        (None, b'{"id": "1", "x": 1e999}', "invalid_json", "out of range"),
        (None, b'{"id": "1", "x": ' + b"9" * 5000 + b"}", "invalid_json", "invalid JSON"),
        (None, b'{"id": "1", "id": "2"}', "invalid_json", "duplicate key 'id'"),
        (None, b'{"id": "1", "content": "caf\xe9"}', "invalid_utf8", "not UTF-8"),
        (None, DEEP_ARRAYS, "too_deep", str(MAX_JSON_DEPTH)),
        (None, DEEPER_THAN_PYTHON, "too_deep", "nested deeper"),
        (None, DEEP_OBJECTS, "too_deep", "nested deeper"),
        (b"\xff\xfe", raw(), "invalid_key", "key is not UTF-8"),
        (None, None, "invalid_key", "tombstone"),
        (b"not an id", None, "invalid_key", "tombstone"),
        (None, b'{"id": 42}', "invalid_deletion", "no valid string id"),
        (None, b'{"id": "42", "deleted": false}', "invalid_deletion", "marker"),
        (None, b'{"id": "42", "event": "update"}', "invalid_deletion", "marker"),
    ],
)
def test_bad_records_are_rejected_with_a_reason(
    key: bytes | None, value: bytes | None, code: str, message: str
) -> None:
    with pytest.raises(InvalidRecordError) as info:
        parse_raw_record(key, value)
    assert isinstance(info.value, RawRecordError)
    assert info.value.code == code
    assert message in str(info.value)
    assert len(str(info.value)) < 200


def test_a_status_nested_within_the_depth_limit_is_accepted() -> None:
    value = raw(x=json.loads("[" * (MAX_JSON_DEPTH - 2) + "]" * (MAX_JSON_DEPTH - 2)))
    assert scored(None, value).status_id == "42"


def test_escaped_lone_surrogate_does_not_break_the_text() -> None:
    parsed = scored(None, b'{"id": "1", "content": "<p>x\\udc00y</p>"}')
    assert parsed.text.encode("utf-8") == "x\ufffdy".encode()


@given(st.binary(max_size=200), st.one_of(st.none(), st.binary(max_size=8)))
def test_arbitrary_bytes_are_parsed_or_rejected_never_crash(
    value: bytes, key: bytes | None
) -> None:
    try:
        parse_raw_record(key, value)
    except RawRecordError as exc:
        assert exc.code and str(exc)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=20,
)


@given(st.dictionaries(st.sampled_from(["id", "content", "language", "reblog", "x"]), json_values))
def test_arbitrary_json_objects_are_parsed_or_rejected_never_crash(data: dict[str, Any]) -> None:
    try:
        parsed = parse_raw_record(None, json.dumps(data).encode())
    except RawRecordError as exc:
        assert exc.code
    else:
        assert parsed.status_id == data["id"] or isinstance(data.get("reblog"), dict)
