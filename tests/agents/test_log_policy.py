"""Payload bytes never reach a log line."""

from __future__ import annotations

import logging

import pytest

from streams.agents import log_policy


def test_bytes_arguments_are_replaced_by_their_length(caplog: pytest.LogCaptureFixture) -> None:
    log_policy.install()
    log_policy.install()  # idempotent
    # Any logger: the policy applies to every log record of the process.
    logger = logging.getLogger("streams.tests.payloads")
    with caplog.at_level(logging.DEBUG, logger=logger.name):
        logger.debug("Sending (key=%s value=%s) to %s", b"42", b'{"text":"secret post"}', "tp")
        logger.debug("mapping %(v)s", {"v": bytearray(b"abc")})
        logger.debug("plain %s %d", "text", 3)
    assert "secret post" not in caplog.text
    assert "Sending (key=<2 bytes> value=<22 bytes>) to tp" in caplog.text
    assert "mapping <3 bytes>" in caplog.text and "plain text 3" in caplog.text
