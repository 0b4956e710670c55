"""Reads the harvester's training examples (daily JSONL files or ``streams harvest export``).

Each line needs ``text`` and ``labels`` (category -> 0 or 1); ``status_id`` and ``language`` are
used when present and every other field of a ``TrainingExample`` is ignored, so a labelled
file of one's own in that shape works too. A category a line leaves out is unlabelled for that
case. Lines that are not JSON objects or lack a text or valid labels are skipped and counted
with their line number; an unterminated last line (a write still going on) is counted too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from streams.categories import parse_category
from streams.evaluation.cases import CaseFile, FileSummary, LabelledCase


def _category_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {parse_category(k).value if isinstance(k, str) else k: v for k, v in value.items()}
    return value


class ExampleLine(BaseModel):
    """The part of a training example the evaluation reads."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    text: Annotated[str, Field(min_length=1)]
    labels: Annotated[dict[str, Literal[0, 1]], BeforeValidator(_category_keys)]
    status_id: str | None = None
    language: str | None = None


def _reason(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "line"
    return f"{where}: {first['msg']}"


def read_examples(path: Path) -> CaseFile:
    summary = FileSummary(str(path), "examples")
    cases: list[LabelledCase] = []
    with path.open("rb") as handle:
        for line, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            summary.rows += 1
            if not raw.endswith(b"\n"):
                summary.skip(line, f"unterminated last line ({len(raw)} bytes)")
                break
            case = _case(raw, f"{path.name}:{line}", str(path), line, summary)
            if case is not None:
                cases.append(case)
    summary.cases = len(cases)
    return CaseFile(cases, summary)


def _case(
    raw: bytes, case_id: str, source: str, line: int, summary: FileSummary
) -> LabelledCase | None:
    try:
        record = json.loads(raw)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        summary.skip(line, f"not JSON: {exc}")
        return None
    try:
        parsed = ExampleLine.model_validate(record)
    except ValidationError as exc:
        summary.skip(line, _reason(exc))
        return None
    return LabelledCase(
        case_id=case_id,
        text=parsed.text,
        labels=parsed.labels,
        language=parsed.language,
        source=source,
    )
