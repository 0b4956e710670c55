"""The package's exceptions. Each says whether retrying can help, and what the user should do."""

from __future__ import annotations


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
    """A transient LLM failure: rate limit, timeout, connection error, 5xx."""

    retriable = True


class FatalLLMError(LLMError):
    """An LLM failure no retry can fix (bad key, no access, unknown model); stop the worker."""
