"""The webhook sink's signature, as the sender computes it and a receiver checks it. Pure.

``X-Streams-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`` with
``X-Streams-Timestamp: <Unix seconds>``. Signing the timestamp with the body lets a receiver
refuse a replayed delivery: a captured request cannot be sent again later with a fresh
timestamp, and one with its old timestamp is past the receiver's tolerance.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Final

from streams.errors import StreamsError

SIGNATURE_HEADER: Final = "X-Streams-Signature"
TIMESTAMP_HEADER: Final = "X-Streams-Timestamp"
ACTION_ID_HEADER: Final = "X-Streams-Action-Id"
#: How old (or how far ahead) a delivery's timestamp may be by default.
DEFAULT_TOLERANCE_S: Final = 300
_SIGNATURE: Final = re.compile(r"sha256=([0-9a-f]{64})")


class SignatureRejected(StreamsError):
    """A delivery that is not ours, or not from now: answer 401 and do nothing."""


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The ``X-Streams-Signature`` value of ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(
    secret: bytes,
    headers: Mapping[str, str],
    body: bytes,
    now: float,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> None:
    """Raise ``SignatureRejected`` unless ``body`` is signed with ``secret`` at a time within
    ``tolerance_s`` of ``now`` (Unix seconds). ``headers`` must look names up without regard
    to case, as HTTP servers' header maps do."""
    timestamp = headers.get(TIMESTAMP_HEADER, "")
    given = _SIGNATURE.fullmatch(headers.get(SIGNATURE_HEADER, ""))
    if not timestamp.isdigit() or given is None:
        raise SignatureRejected("missing or malformed signature headers")
    expected = sign(secret, timestamp, body)
    if not hmac.compare_digest(expected, given.group(0)):
        raise SignatureRejected("the signature does not match the body")
    if abs(now - int(timestamp)) > tolerance_s:
        raise SignatureRejected(f"the timestamp is more than {tolerance_s:.0f} s from now")
