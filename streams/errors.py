"""The package's exceptions. Each says whether retrying can help, and what the user should do."""

from __future__ import annotations

from typing import Final

#: Why an LLM endpoint is unavailable: the ``reason`` of LLMUnavailableError and the label
#: values of the ``streams_llm_unavailable`` gauge.
UNAVAILABLE_REASONS: Final = (
    "server_error", "timeout", "connection_error", "rate_limited", "insufficient_quota",
)  # fmt: skip


class StreamsError(Exception):
    """Root of every error this package raises on purpose."""

    #: True when the same operation may succeed if tried again later.
    retriable: bool = False


class ConfigurationError(StreamsError):
    """A setting is missing or wrong; the message names it and the fix."""


class MissingToolError(ConfigurationError):
    """A program the command needs (java, mvn, ...) is not installed."""


class BrokerError(StreamsError):
    """The Kafka broker could not be started, reached or stopped."""

    retriable = True


class PortInUseError(BrokerError):
    """The port asked for is already taken by another process."""

    retriable = False


class InvalidRecordError(StreamsError):
    """An input record cannot be parsed or validated; it belongs on the dead-letter topic."""


class LLMError(StreamsError):
    """The LLM backend failed."""


class RetriableLLMError(LLMError):
    """An LLM call failed as a whole, and asking again may help."""

    retriable = True


class LLMUnavailableError(RetriableLLMError):
    """The endpoint did not answer usefully (5xx, timeout, connection error, 429 past its
    Retry-After): nothing about the posts sent. The classifier pauses instead of giving up."""

    def __init__(self, message: str, reason: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        if reason not in UNAVAILABLE_REASONS:
            raise ValueError(f"unknown reason {reason!r}; known: {UNAVAILABLE_REASONS}")
        self.reason = reason
        #: The wait the server asked for, if it said one.
        self.retry_after_s = retry_after_s


class QuotaExhaustedError(LLMUnavailableError):
    """429 ``insufficient_quota``: the account is out of credit. No retry soon and no restart
    helps; someone has to add credit or raise the limit."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "insufficient_quota")


class FatalLLMError(LLMError):
    """An LLM failure no retry can fix (bad key, no access, unknown model); stop the worker."""
