"""The stop switch: the latest record of the control topic, as every worker has read it.

Closed until the control topic has been read to its end, so a worker that starts while the
switch is off never acts in between. The agent waits on :meth:`StopSwitch.wait_running`
before planning an action and again before every call it makes; a record flipping the
switch wakes the waiters at once. No Kafka here: the agent feeds it records.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from streams.models.actions import ActionSwitch


class StopSwitch:
    def __init__(self) -> None:
        self._running = asyncio.Event()
        self._loaded = False
        self.latest: ActionSwitch | None = None
        #: Counts the records applied, so a waiter can tell that the switch was flipped since.
        self.generation = 0

    def apply(self, record: ActionSwitch) -> None:
        """The next record of the control topic."""
        self.latest = record
        self.generation += 1
        self._update()

    def loaded(self) -> None:
        """The control topic has been read to its end: the switch may open."""
        self._loaded = True
        self._update()

    def _update(self) -> None:
        stopped = self.latest is not None and self.latest.state == "stopped"
        if self._loaded and not stopped:
            self._running.set()
        else:
            self._running.clear()

    @property
    def running(self) -> bool:
        return self._running.is_set()

    async def wait_running(self) -> None:
        await self._running.wait()

    def as_json(self) -> dict[str, object]:
        latest = self.latest
        return {
            "state": "running" if self.running else "stopped",
            "loaded": self._loaded,
            "changed_at": latest.changed_at.isoformat() if latest else None,
            "origin": latest.origin if latest else None,
            "reason": latest.reason if latest else None,
        }


def switch_record(state: str, origin: str, reason: str | None) -> ActionSwitch:
    """A flip of the switch to ``state`` (running, stopped), made now."""
    return ActionSwitch.model_validate(
        {"state": state, "changed_at": datetime.now(UTC), "origin": origin, "reason": reason}
    )
