"""What an OpenAI-compatible endpoint takes as ``response_format``, found by stepping down a ladder.

Endpoints differ: OpenAI takes strict ``json_schema``; llama.cpp's server refuses that (HTTP
500, "Input should be 'text' or 'json_object'") but takes ``json_object`` with a ``schema``,
which it enforces by grammar; older vLLM, Ollama and proxies take plain ``json_object``; some
take nothing. A refusal that names the response format moves one step down instead of being
retried; the reply parser is as strict on every step, so a step down costs output tokens
(JSON mode is not bound to the compact form), never correctness. Pure: no I/O.
"""

from __future__ import annotations

from typing import Any, Final, Literal, get_args

from streams.categories import CATEGORIES
from streams.llm.prompt import REPLY_KEY, reply_schema

Mode = Literal["json_schema", "json_object_schema", "json_object", "none"]

#: Best first. ``json_object_schema`` is llama.cpp's extension of JSON mode.
LADDER: Final[tuple[Mode, ...]] = get_args(Mode)

#: Statuses with which servers refuse a response format they do not support: 400 (OpenAI,
#: vLLM), 422 (FastAPI-based servers' validation), 500 (llama.cpp's server).
REFUSAL_STATUSES: Final = frozenset({400, 422, 500})

#: Words of a refusal body that show it is about the response format.
_FORMAT_WORDS: Final = ("response_format", "json_schema", "json_object")


def response_format_for(mode: Mode, item_ids: tuple[int, ...] = ()) -> dict[str, Any] | None:
    """The ``response_format`` parameter for ``mode``; None means send none.

    With llama.cpp's grammar (``json_object_schema``) the schema also names this request's
    item ids and their count, so even a small model cannot answer with ids it made up or
    leave posts out; OpenAI's strict subset has no such per-position constraint.
    """
    if mode == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": "toxicity_scores", "strict": True, "schema": reply_schema()},
        }
    if mode == "json_object_schema":
        return {"type": "json_object", "schema": grammar_schema(item_ids)}
    if mode == "json_object":
        return {"type": "json_object"}
    return None


def grammar_schema(item_ids: tuple[int, ...]) -> dict[str, Any]:
    """The reply schema with one row per item id, each row an id then (category, score) pairs.

    Written as fixed tuples (one per number of pairs) because llama.cpp's schema-to-grammar
    conversion reads a list under ``items`` as a tuple and ignores ``prefixItems`` beside it.
    """
    schema = reply_schema()
    if not item_ids:
        return schema
    item_id = {"type": "integer", "enum": sorted(item_ids)}
    category = {"type": "string", "enum": list(CATEGORIES)}
    # The grammar cannot bound a number's value, only spell it: every score of two decimals.
    score = {"type": "number", "enum": [round(i / 100, 2) for i in range(101)]}
    rows = schema["properties"][REPLY_KEY]
    rows["items"] = {
        "anyOf": [
            {"type": "array", "items": [item_id, *[category, score] * pairs]}
            for pairs in range(len(CATEGORIES) + 1)
        ]
    }
    rows["minItems"] = rows["maxItems"] = len(item_ids)
    return schema


def is_compact(mode: Mode) -> bool:
    """Whether the endpoint is bound to the reply schema (so the output budget can be tight)."""
    return mode in ("json_schema", "json_object_schema")


def refuses_format(status: int | None, body: str) -> bool:
    """Whether an error answer says the endpoint does not take the response format sent."""
    if status not in REFUSAL_STATUSES:
        return False
    lowered = body.lower()
    return any(word in lowered for word in _FORMAT_WORDS)


def step_down(mode: Mode) -> Mode | None:
    """The next mode to try after ``mode`` was refused; None at the bottom of the ladder."""
    index = LADDER.index(mode)
    return LADDER[index + 1] if index + 1 < len(LADDER) else None


def starting_mode(override: bool | None) -> Mode:
    """Where detection starts: the top, or JSON mode when structured output is switched off."""
    return "json_object" if override is False else "json_schema"


class CapabilityMemory:
    """The mode found per (endpoint, model), so each worker detects it once per endpoint."""

    def __init__(self) -> None:
        self._modes: dict[tuple[str, str], Mode] = {}

    def get(self, endpoint: str, model: str, default: Mode) -> Mode:
        return self._modes.get((endpoint, model), default)

    def remember(self, endpoint: str, model: str, mode: Mode) -> bool:
        """Store ``mode``; True when it changed what was known (worth a log line)."""
        changed = self._modes.get((endpoint, model)) != mode
        self._modes[(endpoint, model)] = mode
        return changed
