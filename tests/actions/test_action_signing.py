"""The webhook signature, checked against an implementation written here by hand."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from pathlib import Path
from typing import Any

import pytest
from multidict import CIMultiDict

from streams.actions.signing import SignatureRejected, sign, verify

SECRET = b"a-receivers-secret-0123456789"
BODY = b'{"action_id":"0123","status_id":"109"}'


def by_hand(secret: bytes, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret, digestmod=hashlib.sha256)
    mac.update(timestamp.encode())
    mac.update(b".")
    mac.update(body)
    return f"sha256={mac.hexdigest()}"


def headers(timestamp: str, signature: str) -> CIMultiDict[str]:
    return CIMultiDict({"x-streams-timestamp": timestamp, "X-STREAMS-SIGNATURE": signature})


def test_the_signature_is_the_hmac_of_timestamp_dot_body() -> None:
    assert sign(SECRET, "1767348000", BODY) == by_hand(SECRET, "1767348000", BODY)


def test_a_fresh_delivery_verifies() -> None:
    verify(SECRET, headers("1767348000", by_hand(SECRET, "1767348000", BODY)), BODY, 1767348042)


@pytest.mark.parametrize(
    ("timestamp", "signature", "body", "message"),
    [
        ("1767348000", by_hand(b"another secret", "1767348000", BODY), BODY, "does not match"),
        ("1767348000", by_hand(SECRET, "1767348000", BODY), BODY + b" ", "does not match"),
        ("1767348001", by_hand(SECRET, "1767348000", BODY), BODY, "does not match"),
        ("1767348000", "sha1=abc", BODY, "malformed"),
        ("soon", by_hand(SECRET, "soon", BODY), BODY, "malformed"),
        # A replay: the captured request, unchanged, ten minutes later.
        ("1767347400", by_hand(SECRET, "1767347400", BODY), BODY, "more than 300 s"),
    ],
)
def test_tampering_and_replays_are_rejected(
    timestamp: str, signature: str, body: bytes, message: str
) -> None:
    with pytest.raises(SignatureRejected, match=message):
        verify(SECRET, headers(timestamp, signature), body, 1767348000)


def readme_receiver() -> Any:
    """The receiver's ``verify`` the README shows, run as written."""
    readme = (Path(__file__).parents[2] / "README.md").read_text("utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    (code,) = [b for b in blocks if "def verify(secret: bytes, headers" in b]
    scope: dict[str, Any] = {}
    exec(code, scope)
    return scope["verify"]


def test_the_readmes_receiver_accepts_ours_and_refuses_replays_and_tampering() -> None:
    verify_as_documented = readme_receiver()
    now = int(time.time())
    signed = {"X-Streams-Timestamp": str(now), "X-Streams-Signature": sign(SECRET, str(now), BODY)}
    assert verify_as_documented(SECRET, signed, BODY)
    assert not verify_as_documented(SECRET, signed, BODY + b"!")
    old = now - 600
    replay = {"X-Streams-Timestamp": str(old), "X-Streams-Signature": sign(SECRET, str(old), BODY)}
    assert not verify_as_documented(SECRET, replay, BODY)
