"""Resuming flow that is already flowing keeps the records queued for the current assignment."""

from __future__ import annotations

import asyncio

import faust
from mode.utils.queues import FlowControlEvent, FlowControlQueue

from streams.agents.flow_control import KeepQueuedWhileFlowing, install


def queued_after(flow: FlowControlEvent, steps: list[str]) -> int:
    """Put one record before each step; how many are still queued at the end."""
    queue: FlowControlQueue[int] = FlowControlQueue(flow_control=flow, clear_on_resume=True)
    for n, step in enumerate(steps):
        queue.put_nowait(n)
        getattr(flow, step)()
    return queue.qsize()


def test_the_second_of_two_resumes_keeps_what_was_queued_between_them() -> None:
    # The worker's start-up after a changelog restore: resume, fetch, resume again.
    assert queued_after(KeepQueuedWhileFlowing(), ["resume", "resume"]) == 1


def test_fausts_own_flow_control_drops_it() -> None:
    # The behaviour this module exists for; if mode ever changes it, this says so.
    assert queued_after(FlowControlEvent(), ["resume", "resume"]) == 0


def test_a_resume_after_a_suspension_still_empties_the_queues() -> None:
    # Records buffered for partitions a rebalance took away must not be delivered.
    assert queued_after(KeepQueuedWhileFlowing(), ["resume", "suspend", "resume"]) == 0


def test_starts_suspended_like_fausts() -> None:
    assert not KeepQueuedWhileFlowing().is_active()


def test_installed_flow_control_manages_the_apps_stream_queues() -> None:
    async def check() -> None:
        app = faust.App("flow-control-test", env={}, autodiscover=False)
        install(app)
        queue = app.topic("raw").queue
        assert queue._flow_control is app.flow_control
        assert isinstance(app.flow_control, KeepQueuedWhileFlowing)
        app.flow_control.resume()
        queue.put_nowait("record")
        app.flow_control.resume()
        assert queue.qsize() == 1

    asyncio.run(check())
