from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from streams.categories import CATEGORIES
from streams.models.corrections import Correction, ProvenanceEntry, TrainingExample, label_vector


def correction_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "correction_id": "c1",
        "status_id": "109",
        "text": "you people are vermin",
        "language": "en",
        "feedback_type": "false_negative",
        "expected_categories": ["dehumanization", "insult"],
        "actual_categories": [],
        "source": "admin_override",
        "actor_id": "mod-7",
        "reason": "missed slur",
        "timestamp": "2026-03-01T12:00:00Z",
    }
    data.update(overrides)
    return data


def test_valid_correction_round_trips_through_json() -> None:
    correction = Correction.model_validate(correction_data())
    again = Correction.model_validate_json(correction.to_bytes())
    assert again == correction
    assert correction.schema_version == 1


def test_categories_are_normalised_deduplicated_and_canonically_ordered() -> None:
    correction = Correction.model_validate(
        correction_data(expected_categories=["Insult", " toxic", "insult", "THREAT"])
    )
    assert correction.expected_categories == ["toxic", "threat", "insult"]
    assert json.loads(correction.to_bytes())["expected_categories"] == ["toxic", "threat", "insult"]


def test_unknown_category_is_rejected_with_the_valid_names() -> None:
    with pytest.raises(ValidationError, match=r"unknown category 'slur'.*toxic, threat"):
        Correction.model_validate(correction_data(actual_categories=["slur"]))


def test_naive_timestamp_is_rejected_with_a_clear_message() -> None:
    with pytest.raises(ValidationError, match=r"time zone missing.*2026-03-01T12:00:00Z"):
        Correction.model_validate(correction_data(timestamp="2026-03-01T12:00:00"))


def test_offset_timestamp_is_converted_to_utc_not_replaced() -> None:
    correction = Correction.model_validate(correction_data(timestamp="2026-03-01T14:00:00+02:00"))
    assert correction.timestamp == datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert correction.timestamp.utcoffset() is not None
    assert json.loads(correction.to_bytes())["timestamp"] == "2026-03-01T12:00:00Z"


def test_unknown_fields_are_ignored_because_correction_is_an_input_contract() -> None:
    correction = Correction.model_validate(correction_data(platform="mastodon.social", score=0.3))
    assert "platform" not in correction.model_dump()


def test_text_and_language_are_optional_and_blank_means_unknown() -> None:
    data = correction_data(text="   ", language="")
    correction = Correction.model_validate(data)
    assert correction.text is None and correction.language is None
    del data["text"], data["language"]
    assert Correction.model_validate(data).text is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("feedback_type", "wrong"),
        ("source", "moderator"),
        ("schema_version", 2),
        ("correction_id", ""),
        ("expected_categories", "toxic"),
    ],
)
def test_invalid_values_are_rejected(field: str, value: Any) -> None:
    with pytest.raises(ValidationError):
        Correction.model_validate(correction_data(**{field: value}))


def test_missing_timestamp_is_rejected() -> None:
    data = correction_data()
    del data["timestamp"]
    with pytest.raises(ValidationError, match="timestamp"):
        Correction.model_validate(data)


def test_correction_is_frozen() -> None:
    correction = Correction.model_validate(correction_data())
    with pytest.raises(ValidationError):
        correction.text = "edited"  # type: ignore[misc]


def example_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "status_id": "109",
        "text": "you people are vermin",
        "language": "en",
        "labels": label_vector(["insult"]),
        "feedback_type": "false_negative",
        "original_prediction": [],
        "corrected_to": ["insult"],
        "contested": False,
        "decided_by": "admin_override",
        "deciding_correction_id": "c1",
        "provenance": [
            ProvenanceEntry(
                correction_id="c1",
                source="admin_override",
                timestamp=datetime(2026, 3, 1, tzinfo=UTC),
                feedback_type="false_negative",
            )
        ],
        "updated_at": datetime(2026, 3, 1, tzinfo=UTC),
        "harvested_at": datetime(2026, 3, 2, tzinfo=UTC),
    }
    data.update(overrides)
    return data


def test_training_example_labels_cover_all_twelve_categories_in_order() -> None:
    example = TrainingExample.model_validate(example_data())
    assert list(example.labels) == list(CATEGORIES)
    assert example.source == "platform_feedback"
    wire = json.loads(example.to_bytes())
    assert list(wire["labels"]) == list(CATEGORIES)
    assert wire["labels"]["insult"] == 1 and sum(wire["labels"].values()) == 1


def test_training_example_round_trips_through_json() -> None:
    example = TrainingExample.model_validate(example_data(scored_model="gpt-4o-mini"))
    assert TrainingExample.model_validate_json(example.to_bytes()) == example


def test_training_example_rejects_incomplete_or_non_binary_labels() -> None:
    labels = dict(label_vector([]))
    del labels["ableism"]  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="labels lack categories: ableism"):
        TrainingExample.model_validate(example_data(labels=labels))
    with pytest.raises(ValidationError):
        TrainingExample.model_validate(example_data(labels={**label_vector([]), "toxic": 2}))


def test_training_example_is_strict_about_what_it_publishes() -> None:
    with pytest.raises(ValidationError, match="extra"):
        TrainingExample.model_validate(example_data(note="x"))
    with pytest.raises(ValidationError, match="time zone missing"):
        TrainingExample.model_validate(example_data(harvested_at=datetime(2026, 3, 2)))
    with pytest.raises(ValidationError):
        TrainingExample.model_validate(example_data(provenance=[]))


def test_labels_schema_requires_every_category() -> None:
    schema = TrainingExample.model_json_schema()
    assert schema["properties"]["labels"]["required"] == list(CATEGORIES)
    assert schema["additionalProperties"] is False
    assert Correction.model_json_schema().get("additionalProperties") is not False
