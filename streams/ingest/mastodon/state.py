"""The follower's state file: the newest status id published and acknowledged.

Written atomically (a temporary file in the same directory, fsynced, renamed over the old one,
the directory fsynced), so a crash leaves the old state or the new one, never a torn file. The
state names the instance it belongs to: pointed at another instance, the follower starts afresh
instead of asking it for statuses after a foreign id.
"""

from __future__ import annotations

import logging
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

log = logging.getLogger(__name__)


class FollowerState(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    base_url: str
    since_id: str | None = None
    updated_at: datetime | None = None


def load_state(path: Path, base_url: str) -> str | None:
    """The since_id saved for ``base_url``, or None (no file, unreadable, other instance)."""
    try:
        state = FollowerState.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValidationError) as exc:
        log.warning(
            "mastodon state file %s unreadable (%s): starting afresh", path, type(exc).__name__
        )
        return None
    if state.base_url != base_url:
        log.warning(
            "mastodon state file %s is for %s, not %s: starting afresh",
            path,
            state.base_url,
            base_url,
        )
        return None
    return state.since_id


def save_state(path: Path, base_url: str, since_id: str | None) -> None:
    """Replace the state file atomically."""
    state = FollowerState(base_url=base_url, since_id=since_id, updated_at=datetime.now(UTC))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(state.model_dump_json().encode())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
