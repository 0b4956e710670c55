"""The topic names of one run (a benchmark, a chaos run, a test), all under one prefix."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Final

ROLES: Final = (
    "raw", "scored", "dlq", "corrections", "training", "actions", "action_control", "calibration",
)


@dataclass(frozen=True)
class RunTopics:
    raw: str
    scored: str
    dlq: str
    corrections: str
    training: str
    actions: str
    action_control: str
    calibration: str

    @classmethod
    def under(cls, prefix: str) -> RunTopics:
        return cls(*(f"{prefix}.{role}" for role in ROLES))

    def fields(self) -> dict[str, str]:
        """As settings fields (``topic_raw``, ...)."""
        return {f"topic_{role}": name for role, name in asdict(self).items()}
