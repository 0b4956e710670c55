"""Who may call the HTTP API: bearer tokens from ``STREAMS_API_TOKEN``, compared in constant
time, each allowed every correction source or only some.

Pure: the views hand in the ``Authorization`` header and act on the decision.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from typing import Final, get_args

from pydantic import SecretStr

from streams.errors import ConfigurationError
from streams.models.corrections import Source

SOURCES: Final = frozenset(get_args(Source))
#: URL-safe characters only, so a token never needs quoting (``secrets.token_urlsafe``).
TOKEN_PATTERN: Final = re.compile(r"[A-Za-z0-9._~-]{16,256}")
GENERATE_HINT: Final = (
    'generate one with: python -c "import secrets; print(secrets.token_urlsafe(32))"'
)


@dataclass(frozen=True)
class ApiToken:
    value: bytes
    #: The correction sources it may write; None: every source.
    sources: frozenset[str] | None


@dataclass(frozen=True)
class Decision:
    """``status`` 200 lets the request through; otherwise the answer to give, with why."""

    status: int
    message: str = ""
    token: ApiToken | None = None

    def may_write(self, source: str) -> bool:
        return self.token is not None and (
            self.token.sources is None or source in self.token.sources
        )


def parse_tokens(secret: SecretStr | None) -> list[ApiToken]:
    """The tokens of ``STREAMS_API_TOKEN``; ConfigurationError naming the bad entry's position."""
    if secret is None:
        return []
    tokens = []
    for position, entry in enumerate(secret.get_secret_value().split(","), start=1):
        value, _, limit = entry.strip().partition(":")
        if not TOKEN_PATTERN.fullmatch(value):
            raise ConfigurationError(
                f"STREAMS_API_TOKEN entry {position} is not a token of 16-256 URL-safe "
                f"characters; {GENERATE_HINT}"
            )
        sources = None
        if limit:
            sources = frozenset(s.strip() for s in limit.split("+"))
            unknown = sources - SOURCES
            if unknown:
                raise ConfigurationError(
                    f"STREAMS_API_TOKEN entry {position} names unknown sources "
                    f"{sorted(unknown)}; known: {sorted(SOURCES)}"
                )
        tokens.append(ApiToken(value.encode(), sources))
    return tokens


def authorize(header: str | None, tokens: list[ApiToken]) -> Decision:
    """Check ``Authorization: Bearer <token>`` against every configured token."""
    if not tokens:
        return Decision(403, "the API is closed: set STREAMS_API_TOKEN to open it")
    scheme, _, presented = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        return Decision(401, "send Authorization: Bearer <token>")
    given = presented.strip().encode()
    match = None
    for token in tokens:
        # Every token is compared, so the time taken does not say which one came close.
        if hmac.compare_digest(given, token.value):
            match = token
    if match is None:
        return Decision(401, "the bearer token is not one of STREAMS_API_TOKEN's")
    return Decision(200, token=match)
