"""The candidate: a scoring configuration built as a worker would build it, plus a calibration.

The spec is ``streams eval``'s (``NAME[,FIELD=VALUE...]``: a backend and overrides of settings
fields, such as ``openai,openai_model=gpt-4o,flag_threshold=0.6``), so any setting a worker
reads can differ, the prompt version included once it is a setting. A calibration map (the
JSON ``streams calibrate`` fits) is applied to the backend's scores before the threshold, as a
worker applies its map.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from streams.calibration.map import CalibrationMap
from streams.errors import ConfigurationError
from streams.evaluation.scoring import parse_config
from streams.scoring.backend import ScoringBackend
from streams.scoring.batch import Classifier
from streams.scoring.factory import backend_identity, make_backend, make_classifier
from streams.settings import Settings
from streams.shadow.results import CandidateIdentity


def read_calibration(path: Path) -> CalibrationMap:
    """A calibration map from its JSON file, or a ConfigurationError naming what is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"--calibration {path}: cannot read it ({exc})") from None
    try:
        return CalibrationMap.model_validate_json(text)
    except ValidationError as exc:
        raise ConfigurationError(
            f"--calibration {path}: not a calibration map (schema_version, version, entries): {exc}"
        ) from None


def _is_secret(name: str) -> bool:
    field = Settings.model_fields.get(name)
    return field is not None and "SecretStr" in str(field.annotation)


def redact(spec: str) -> str:
    """``spec`` with the values of secret fields (API keys, passwords) replaced by ``***``."""
    parts = []
    for part in spec.split(","):
        key, sep, _value = part.partition("=")
        parts.append(f"{key}=***" if sep and _is_secret(key.strip().lower()) else part)
    return ",".join(parts)


@dataclass(frozen=True)
class Candidate:
    spec: str
    settings: Settings
    calibration: CalibrationMap | None = None

    @property
    def label(self) -> str:
        """The spec as reports and record headers show it: without secrets."""
        return redact(self.spec)

    def identity(self) -> CandidateIdentity:
        backend, model, prompt_version = backend_identity(self.settings)
        return CandidateIdentity(
            config=self.label,
            backend=backend,
            model=model,
            prompt_version=prompt_version,
            threshold=self.settings.flag_threshold,
            calibration=self.calibration.version if self.calibration else None,
        )

    def backend(self) -> ScoringBackend:
        return make_backend(self.settings)

    def classifier(self, backend: ScoringBackend) -> Classifier:
        """Scores as a worker would, the calibration applied as a worker applies one (its
        records carry raw and calibrated scores and the map's version)."""
        classifier = make_classifier(self.settings, backend, wait_out_outages=False)
        classifier.calibration = self.calibration
        return classifier


def parse_candidate(spec: str, base: Settings, calibration: Path | None = None) -> Candidate:
    """The candidate ``spec`` describes over ``base``; ConfigurationError when it is wrong."""
    try:
        config = parse_config(spec, base)
    except ConfigurationError as exc:
        # The parser speaks of eval's --backend and quotes the spec whole, key included.
        message = (
            str(exc).replace(repr(spec), repr(redact(spec))).replace("--backend", "--candidate")
        )
        raise ConfigurationError(message) from None
    return Candidate(
        spec=spec,
        settings=config.settings,
        calibration=read_calibration(calibration) if calibration is not None else None,
    )
