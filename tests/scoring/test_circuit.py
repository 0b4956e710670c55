"""The circuit breaker's state machine, as plain function calls with a hand-moved clock."""

from __future__ import annotations

import math

import pytest

from streams.scoring.circuit import Circuit, State


def circuit(failures: int = 2) -> Circuit:
    return Circuit(failures_to_open=failures, probe_backoff_s=1.0, probe_backoff_max_s=8.0)


def test_it_opens_after_the_failures_in_a_row_and_an_answer_resets_the_count() -> None:
    c = circuit(failures=3)
    assert not c.call_failed("server_error", "503", now=0)
    assert not c.call_failed("timeout", "timed out", now=1)
    c.call_answered()  # a success in between: the endpoint is there
    assert not c.call_failed("server_error", "503", now=2)
    assert not c.call_failed("server_error", "503", now=3)
    assert c.available
    assert c.call_failed("server_error", "503", now=4)
    assert c.state is State.OPEN and c.reason == "server_error" and c.detail == "503"
    assert not c.call_failed("server_error", "503", now=5), "already open"


def test_quota_exhaustion_opens_at_once_and_takes_over_the_reason() -> None:
    c = circuit(failures=5)
    assert c.call_failed("insufficient_quota", "429 insufficient_quota", now=0)
    assert c.reason == "insufficient_quota"
    c = circuit(failures=1)
    c.call_failed("server_error", "503", now=0)
    c.call_failed("insufficient_quota", "429", now=1)
    assert c.reason == "insufficient_quota"


def test_probes_back_off_exponentially_up_to_the_cap() -> None:
    c = circuit(failures=1)
    c.call_failed("connection_error", "refused", now=100)
    waits = []
    now = 100.0
    for _ in range(6):
        wait = c.probe_wait(now)
        waits.append(wait)
        now += wait
        assert c.probe_wait(now) == 0
        c.probe_started()
        assert c.state is State.PROBING and c.probe_wait(now) == math.inf
        c.probe_failed("connection_error", "refused", now)
    assert waits == [1, 2, 4, 8, 8, 8]


def test_a_retry_after_is_the_shortest_wait_before_a_probe() -> None:
    c = circuit(failures=1)
    c.call_failed("rate_limited", "429", now=0, retry_after_s=30)
    assert c.probe_wait(0) == 30


def test_an_answered_probe_closes_it_but_keeps_the_backoff_until_a_call_is_answered() -> None:
    c = circuit(failures=1)
    c.call_failed("server_error", "503", now=0)
    for now in (1, 3, 7):
        c.probe_started()
        c.probe_failed("server_error", "503", now)
    c.probe_started()
    assert c.probe_answered()
    assert c.available and c.reason is None
    # The calls fail again at once: the endpoint answers probes only, so probing stays rare.
    c.call_failed("server_error", "503", now=20)
    assert c.probe_wait(20) == 8
    c.probe_started()
    c.probe_answered()
    c.call_answered()  # a real call got through: the next outage starts from the base again
    c.call_failed("server_error", "503", now=40)
    assert c.probe_wait(40) == 1


def test_a_call_answered_while_open_closes_it_and_a_late_probe_failure_is_ignored() -> None:
    c = circuit(failures=1)
    c.call_failed("timeout", "timed out", now=0)
    c.probe_started()
    assert c.call_answered()
    c.probe_failed("timeout", "timed out", now=1)
    assert c.available and c.reason is None


def test_the_open_circuit_is_recalled_once_a_minute_not_per_event() -> None:
    c = circuit(failures=1)
    assert not c.take_reminder(0), "nothing to recall while closed"
    c.call_failed("insufficient_quota", "429", now=10)
    reminders = [t for t in range(10, 200) if c.take_reminder(t)]
    assert reminders == [70, 130, 190]
    assert c.paused_for(190) == 180
    c.call_answered()
    assert c.reminder_wait(200) == math.inf and c.paused_for(200) == 0


def test_unknown_reasons_and_bad_backoffs_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown"):
        circuit().call_failed("teapot", "418", now=0)
    with pytest.raises(ValueError):
        Circuit(failures_to_open=0, probe_backoff_s=1, probe_backoff_max_s=2)
    with pytest.raises(ValueError):
        Circuit(failures_to_open=1, probe_backoff_s=3, probe_backoff_max_s=2)


def test_a_very_long_outage_does_not_overflow_the_backoff() -> None:
    c = circuit(failures=1)
    c.call_failed("server_error", "503", now=0)
    c.failed_probes = 5000
    c.probe_started()
    c.probe_failed("server_error", "503", now=0)
    assert c.probe_wait(0) == 8
