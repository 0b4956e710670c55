"""The classifier's calibration: the map of its own scoring configuration, followed on the
calibration topic and swapped into its ``Classifier`` as new ones arrive."""

from __future__ import annotations

from streams.calibration.map import CalibrationMap, source_key
from streams.calibration.topic import CalibrationFollower, start_follower
from streams.scoring.backend import ScoringBackend
from streams.scoring.batch import Classifier
from streams.settings import Settings

__all__ = ["CalibrationFollower", "follow_calibration", "stop_following"]


async def follow_calibration(
    settings: Settings, backend: ScoringBackend, classifier: Classifier
) -> CalibrationFollower | None:
    """Start following (None when ``STREAMS_CALIBRATION_FOLLOW`` is off)."""
    if not settings.calibration_follow:
        return None

    def apply(calibration: CalibrationMap | None) -> None:
        classifier.calibration = calibration

    key = source_key(backend.name, backend.model, backend.prompt_version)
    return await start_follower(settings, key, apply)


async def stop_following(follower: CalibrationFollower | None) -> None:
    if follower is not None:
        await follower.stop()
