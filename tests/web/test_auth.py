from __future__ import annotations

import pytest
from pydantic import SecretStr

from streams.errors import ConfigurationError
from streams.web.auth import authorize, parse_tokens

ADMIN = "admin-token-0123456789abcdef"
BRIDGE = "bridge-token-0123456789abcdef"


def tokens(value: str) -> list:  # type: ignore[type-arg]
    return parse_tokens(SecretStr(value))


def test_no_token_configured_closes_the_api() -> None:
    decision = authorize(f"Bearer {ADMIN}", parse_tokens(None))
    assert decision.status == 403 and "STREAMS_API_TOKEN" in decision.message


@pytest.mark.parametrize(
    "header", [None, "", "Bearer", "Bearer ", f"Basic {ADMIN}", f"Bearer {ADMIN}x", ADMIN]
)
def test_missing_or_wrong_tokens_are_401(header: str | None) -> None:
    assert authorize(header, tokens(ADMIN)).status == 401


def test_either_token_of_a_rotation_works_and_scheme_case_does_not_matter() -> None:
    configured = tokens(f"{ADMIN}, {BRIDGE}")
    assert authorize(f"Bearer {ADMIN}", configured).status == 200
    assert authorize(f"bearer {BRIDGE}", configured).status == 200


def test_a_source_limited_token_may_write_only_its_sources() -> None:
    configured = tokens(f"{ADMIN},{BRIDGE}:user_report+appeal")
    bridge = authorize(f"Bearer {BRIDGE}", configured)
    assert bridge.may_write("user_report") and bridge.may_write("appeal")
    assert not bridge.may_write("admin_override")
    assert authorize(f"Bearer {ADMIN}", configured).may_write("admin_override")


@pytest.mark.parametrize("value", ["short", f"{ADMIN},", f"{ADMIN} with space", "ä" * 20])
def test_bad_tokens_are_refused_at_start(value: str) -> None:
    with pytest.raises(ConfigurationError, match="entry"):
        tokens(value)


def test_unknown_sources_are_refused_at_start() -> None:
    with pytest.raises(ConfigurationError, match="unknown sources"):
        tokens(f"{BRIDGE}:user_report+moderator")
