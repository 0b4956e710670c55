"""The response-format ladder: what is sent on each step, and which refusals move it down."""

from __future__ import annotations

import pytest

from streams.scoring.capabilities import (
    LADDER,
    CapabilityMemory,
    is_compact,
    refuses_format,
    response_format_for,
    starting_mode,
    step_down,
)

# llama-cpp-python 0.3's server, asked for json_schema (HTTP 500, pydantic's message).
LLAMA_CPP_500 = (
    "Error code: 500 - {'error': {'message': \"1 validation error for "
    "CreateChatCompletionRequest\\nresponse_format.type\\n  Input should be 'text' or "
    "'json_object' [type=literal_error, input_value='json_schema', input_type=str]\"}}"
)


def test_every_step_sends_what_its_endpoint_takes() -> None:
    strict = response_format_for("json_schema")
    assert strict is not None and strict["json_schema"]["strict"] is True
    grammar = response_format_for("json_object_schema")
    assert grammar is not None and grammar["type"] == "json_object"
    assert grammar["schema"] == strict["json_schema"]["schema"]
    assert response_format_for("json_object") == {"type": "json_object"}
    assert response_format_for("none") is None
    assert [m for m in LADDER if is_compact(m)] == ["json_schema", "json_object_schema"]


def test_the_ladder_goes_down_one_step_at_a_time_and_ends() -> None:
    walked = [starting_mode(None)]
    while (following := step_down(walked[-1])) is not None:
        walked.append(following)
    assert walked == list(LADDER)
    assert starting_mode(False) == "json_object" and starting_mode(True) == "json_schema"


@pytest.mark.parametrize(
    ("status", "body", "refused"),
    [
        (500, LLAMA_CPP_500, True),
        (400, "Invalid parameter: 'response_format' of type 'json_schema' is not supported", True),
        (422, "unknown field json_schema", True),
        (500, "CUDA out of memory", False),  # a server error to retry, not a refusal
        (503, "response_format busy", False),
        (401, "invalid api key", False),
        (None, "response_format", False),
    ],
)
def test_only_a_refusal_naming_the_format_moves_down(
    status: int | None, body: str, refused: bool
) -> None:
    assert refuses_format(status, body) is refused


def test_memory_is_per_endpoint_and_model_and_says_when_it_changed() -> None:
    memory = CapabilityMemory()
    assert memory.get("http://a/v1", "m", "json_schema") == "json_schema"
    assert memory.remember("http://a/v1", "m", "json_object_schema") is True
    assert memory.remember("http://a/v1", "m", "json_object_schema") is False
    assert memory.get("http://a/v1", "m", "json_schema") == "json_object_schema"
    assert memory.get("http://a/v1", "other", "json_schema") == "json_schema"


def test_the_grammar_schema_names_the_requests_ids_and_one_row_each() -> None:
    from streams.categories import CATEGORIES
    from streams.scoring.capabilities import grammar_schema

    rows = grammar_schema((30, 10, 20))["properties"]["r"]
    assert rows["minItems"] == rows["maxItems"] == 3
    shapes = rows["items"]["anyOf"]
    assert [len(s["items"]) for s in shapes] == [1 + 2 * k for k in range(len(CATEGORIES) + 1)]
    assert all(s["items"][0]["enum"] == [10, 20, 30] for s in shapes)
    assert shapes[1]["items"][2]["enum"][:3] == [0.0, 0.01, 0.02]
    assert response_format_for("json_object_schema", (10,))["schema"] == grammar_schema((10,))  # type: ignore[index]
    assert "minItems" not in str(response_format_for("json_schema", (10,)))  # OpenAI: as before
