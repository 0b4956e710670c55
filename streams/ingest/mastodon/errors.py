"""What can go wrong talking to a Mastodon instance, and whether a retry can help."""

from __future__ import annotations

from streams.errors import ConfigurationError, InvalidRecordError, StreamsError


class WebhookSignatureError(StreamsError):
    """A webhook delivery is not signed with our secret: answer 401 and publish nothing."""

    #: Short reason for metrics and the 401 body: ``missing``, ``malformed`` or ``mismatch``.
    reason: str = "invalid"


class SignatureMissingError(WebhookSignatureError):
    """The delivery has no ``X-Hub-Signature`` header."""

    reason = "missing"


class SignatureMalformedError(WebhookSignatureError):
    """The header is not ``sha256=<64 hex digits>``."""

    reason = "malformed"


class SignatureMismatchError(WebhookSignatureError):
    """The header is well formed but is not the HMAC of this body with our secret."""

    reason = "mismatch"


class InvalidWebhookError(InvalidRecordError):
    """A correctly signed delivery whose body is not a webhook event we can read (400)."""


class MastodonAuthError(ConfigurationError):
    """The instance refused the token (401/403): no retry can fix it; the command exits."""


class MastodonUnavailableError(StreamsError):
    """The instance cannot be reached or answered with a server error; retry later."""

    retriable = True
