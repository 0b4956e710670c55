from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from streams.categories import CATEGORIES
from streams.models.actions import ActionRecord, ActionSwitch
from streams.models.corrections import Correction, TrainingExample
from streams.models.dead_letter import DeadLetterHeaders
from streams.models.json_schemas import (
    CONTRACTS,
    DEFAULT_DIRECTORY,
    DIALECT,
    SCHEMA_ID_BASE,
    check_schemas,
    export_schemas,
    render_schema,
)
from streams.models.scored import ScoredStatus, Timings, Usage, build_scored_status
from streams.models.status import Status

DATA = Path(__file__).parents[1] / "data"
REPO_SCHEMAS = Path(__file__).parents[2] / "schemas"


def validator(file_name: str) -> Draft202012Validator:
    schema = json.loads((REPO_SCHEMAS / file_name).read_text("utf-8"))
    return Draft202012Validator(schema, format_checker=FormatChecker())


@pytest.mark.parametrize("file_name", sorted(CONTRACTS))
def test_committed_schema_matches_its_model(file_name: str) -> None:
    path = REPO_SCHEMAS / file_name
    assert path.is_file(), f"{path} is missing: run `streams schemas export`"
    assert path.read_text("utf-8") == render_schema(CONTRACTS[file_name], file_name), (
        f"{file_name} differs from {CONTRACTS[file_name].__name__}: run `streams schemas export` "
        "(or `python -m streams.models.json_schemas`) and commit schemas/"
    )


def test_default_directory_is_the_repository_schemas_folder() -> None:
    assert REPO_SCHEMAS.resolve() == DEFAULT_DIRECTORY
    assert check_schemas() == []


@pytest.mark.parametrize("file_name", sorted(CONTRACTS))
def test_schema_is_valid_2020_12_with_a_stable_id(file_name: str) -> None:
    schema = json.loads(render_schema(CONTRACTS[file_name]))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == DIALECT
    assert schema["$id"] == SCHEMA_ID_BASE + file_name


def test_rendering_is_stable_text() -> None:
    text = render_schema(ScoredStatus)
    assert text == render_schema(ScoredStatus)
    assert text.endswith("}\n")
    assert text == json.dumps(json.loads(text), sort_keys=True, indent=2) + "\n"


def test_unregistered_model_needs_a_file_name() -> None:
    with pytest.raises(ValueError, match="not a registered contract"):
        render_schema(Usage)
    assert '"$id": "https://streams.example/schemas/usage.schema.json"' in render_schema(
        Usage, "usage.schema.json"
    )


def test_export_then_check_reports_missing_and_changed_files(tmp_path: Path) -> None:
    written = export_schemas(tmp_path)
    assert sorted(p.name for p in written) == sorted(CONTRACTS)
    assert check_schemas(tmp_path) == []
    (tmp_path / "correction.schema.json").unlink()
    scored = tmp_path / "scored-status.schema.json"
    scored.write_text(scored.read_text("utf-8").replace('"toxic"', '"toxicity"'), "utf-8")
    assert sorted(check_schemas(tmp_path)) == [
        "correction.schema.json",
        "scored-status.schema.json",
    ]


# --- every sample record validates against its committed schema ----------------------------


def docs_example() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / "mastodon_status_example.json").read_text("utf-8"))
    return data


def status_samples() -> list[dict[str, Any]]:
    example = docs_example()
    boost = {**example, "id": "1", "content": "", "reblog": {**example, "language": None}}
    edited = {**example, "edited_at": "2024-05-01T10:00:00.000Z", "spoiler_text": None}
    media = {
        **example,
        "media_attachments": [{"id": "5", "type": "image", "description": "alt"}, {"id": "6"}],
        "poll": {"id": "3", "options": [{"title": "yes", "votes_count": 1}]},
    }
    return [example, boost, edited, media, {"id": "2"}]


def scored_sample() -> dict[str, Any]:
    scores = dict.fromkeys(CATEGORIES, 0.1) | {"insult": 0.8}
    record = build_scored_status(
        "103270115826048975",
        None,
        scores,
        0.5,
        backend="lexicon",
        model="lexicon-v1",
        prompt_version="v1",
        usage=Usage(input_tokens=0, output_tokens=0),
        timings=Timings(queued_ms=0, llm_ms=0, total_ms=1.5),
        scored_at=datetime(2024, 5, 1, tzinfo=UTC),
        account_id="109302436954521196",
    )
    data: dict[str, Any] = json.loads(record.to_bytes())
    return data


def correction_sample() -> dict[str, Any]:
    return {
        "correction_id": "c-1",
        "status_id": "103270115826048975",
        "text": "you people are vermin",
        "language": "en",
        "feedback_type": "false_negative",
        "expected_categories": ["dehumanization", "insult"],
        "actual_categories": [],
        "source": "admin_override",
        "actor_id": "mod-7",
        "reason": "missed",
        "timestamp": "2026-03-01T12:00:00Z",
    }


def training_example_sample() -> dict[str, Any]:
    return {
        "status_id": "103270115826048975",
        "text": "you people are vermin",
        "language": "en",
        "labels": {name: int(name in ("dehumanization", "insult")) for name in CATEGORIES},
        "feedback_type": "false_negative",
        "original_prediction": [],
        "corrected_to": ["dehumanization", "insult"],
        "contested": False,
        "decided_by": "admin_override",
        "deciding_correction_id": "c-1",
        "provenance": [
            {
                "correction_id": "c-1",
                "source": "admin_override",
                "timestamp": "2026-03-01T12:00:00Z",
                "feedback_type": "false_negative",
                "expected_categories": ["dehumanization", "insult"],
            }
        ],
        "updated_at": "2026-03-01T12:00:00Z",
        "harvested_at": "2026-03-01T12:05:00Z",
    }


def dead_letter_sample() -> dict[str, Any]:
    return {
        "schema_version": 1,
        "stage": "score",
        "error_class": "LLMError",
        "reason": "llm_reply_missing_item",
        "message": "item 3 missing",
        "attempts": 3,
        "first_failure_at": "2024-05-01T12:00:00Z",
        "original_topic": "statuses.raw",
        "original_partition": 0,
        "original_offset": 7,
        "original_key": None,
    }


def action_sample() -> dict[str, Any]:
    return {
        "schema_version": 1,
        "action_id": "0f" * 16,
        "status_id": "103270115826048975",
        "content_version": "original",
        "state": "done",
        "mode": "live",
        "sink": "mastodon",
        "policy_version": "1-0a1b2c3d",
        "account_id": "109302436954521196",
        "categories": ["racism"],
        "scores": {"racism": 0.91},
        "report_category": "violation",
        "rule_ids": ["1"],
        "forward": False,
        "comment": "Automated report by streams (policy 1-0a1b2c3d): racism 0.91.",
        "backend": "openai",
        "model": "gpt-4o-mini",
        "prompt_version": "v3",
        "planned_at": "2026-11-02T10:00:00Z",
        "finished_at": "2026-11-02T10:00:01Z",
        "attempts": 1,
        "report_id": "4711",
    }


def switch_sample() -> dict[str, Any]:
    return {
        "schema_version": 1,
        "state": "stopped",
        "changed_at": "2026-11-02T10:00:00Z",
        "origin": "api",
        "reason": "checking the policy",
    }


SAMPLES: list[tuple[str, type[Any], dict[str, Any]]] = [
    *(("mastodon-status.schema.json", Status, s) for s in status_samples()),
    ("scored-status.schema.json", ScoredStatus, scored_sample()),
    ("correction.schema.json", Correction, correction_sample()),
    ("training-example.schema.json", TrainingExample, training_example_sample()),
    ("dead-letter-headers.schema.json", DeadLetterHeaders, dead_letter_sample()),
    ("action.schema.json", ActionRecord, action_sample()),
    ("action-switch.schema.json", ActionSwitch, switch_sample()),
]


@pytest.mark.parametrize(("file_name", "model", "sample"), SAMPLES)
def test_sample_validates_against_model_and_committed_schema(
    file_name: str, model: type[Any], sample: dict[str, Any]
) -> None:
    record = model.model_validate(sample)
    validator(file_name).validate(sample)
    # What the model writes back must satisfy the same schema.
    validator(file_name).validate(json.loads(record.model_dump_json()))


def test_mastodon_schema_allows_fields_it_does_not_know() -> None:
    validator("mastodon-status.schema.json").validate({"id": "1", "quote": {"state": "pending"}})


@pytest.mark.parametrize(
    ("file_name", "change"),
    [
        ("scored-status.schema.json", lambda d: d["scores"].pop("ableism")),
        ("scored-status.schema.json", lambda d: d["scores"].update(toxic=1.2)),
        ("scored-status.schema.json", lambda d: d.update(flagged_categories=["slur"])),
        ("scored-status.schema.json", lambda d: d.update(extra=True)),
        ("scored-status.schema.json", lambda d: d.update(account_id="a b")),
        ("scored-status.schema.json", lambda d: d.update(schema_version=1)),
        ("dead-letter-headers.schema.json", lambda d: d.update(stage="publish")),
        ("action.schema.json", lambda d: d.update(state="reported")),
        ("action.schema.json", lambda d: d["scores"].update(racism=1.5)),
        ("action.schema.json", lambda d: d.update(text="the post")),
        ("mastodon-status.schema.json", lambda d: d.update(id=42)),
    ],
)
def test_committed_schema_rejects_what_the_model_rejects(file_name: str, change: Any) -> None:
    sample = {
        "scored-status.schema.json": scored_sample,
        "dead-letter-headers.schema.json": dead_letter_sample,
        "mastodon-status.schema.json": docs_example,
        "action.schema.json": action_sample,
    }[file_name]()
    change(sample)
    assert not validator(file_name).is_valid(sample)
    model = CONTRACTS[file_name]
    with pytest.raises(ValueError):
        model.model_validate(sample)
