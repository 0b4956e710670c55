"""Reads HateCheck-style CSV suites (HateCheck, Multilingual HateCheck) into labelled cases.

Columns used: ``test_case`` and ``label_gold`` (required), ``functionality``, ``target_ident``
and the case id (``case_id`` or ``mhc_case_id``, which also gives the language). A row without
text or with an unknown gold label is skipped and counted with its line; a file without the
required columns is an error.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from streams.evaluation.cases import CaseFile, EvaluationInputError, FileSummary, LabelledCase
from streams.evaluation.mapping import GOLD_LABELS, suite_labels, suite_language

REQUIRED_COLUMNS = ("test_case", "label_gold")


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _blank_to_none(value: Any) -> Any:
    value = _strip(value)
    return None if value == "" else value


def _lower(value: Any) -> Any:
    value = _strip(value)
    return value.lower() if isinstance(value, str) else value


class SuiteRow(BaseModel):
    """One CSV row as far as the evaluation reads it; other columns are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    test_case: Annotated[str, BeforeValidator(_strip), Field(min_length=1)]
    label_gold: Annotated[Literal["hateful", "non-hateful"], BeforeValidator(_lower)]
    functionality: Annotated[str | None, BeforeValidator(_blank_to_none)] = None
    target_ident: Annotated[str | None, BeforeValidator(_blank_to_none)] = None
    case_id: Annotated[str | None, BeforeValidator(_blank_to_none)] = None
    mhc_case_id: Annotated[str | None, BeforeValidator(_blank_to_none)] = None


def _reason(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "row"
    return f"{where}: {first['msg']}"


def case_from_row(row: SuiteRow, case_id: str, source: str) -> tuple[LabelledCase, bool]:
    """The labelled case of a row, and whether its target mapped to a category."""
    labels, mapped = suite_labels(GOLD_LABELS[row.label_gold], row.target_ident)
    case = LabelledCase(
        case_id=case_id,
        text=row.test_case,
        labels=labels,
        language=suite_language(row.mhc_case_id),
        functionality=row.functionality,
        target=row.target_ident,
        source=source,
    )
    return case, mapped


def read_suite(path: Path) -> CaseFile:
    summary = FileSummary(str(path), "suite")
    cases: list[LabelledCase] = []
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise EvaluationInputError(
                    f"{path}: not a HateCheck-style suite: no column {', '.join(missing)} "
                    f"(found: {', '.join(reader.fieldnames or []) or 'none'})"
                )
            for row in reader:
                summary.rows += 1
                line = reader.line_num
                try:
                    parsed = SuiteRow.model_validate(row)
                except ValidationError as exc:
                    summary.skip(line, _reason(exc))
                    continue
                case, mapped = case_from_row(parsed, f"{path.name}:{line}", str(path))
                if not mapped:
                    summary.unmapped_targets[parsed.target_ident or "(none)"] += 1
                cases.append(case)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise EvaluationInputError(f"{path}: unreadable CSV: {exc}") from None
    summary.cases = len(cases)
    return CaseFile(cases, summary)
