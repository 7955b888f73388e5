"""The outbox of messages whose unit of work committed while the broker was down: sent once
the broker answers, in order, each once; a message the backend refuses for another reason
is logged and dropped rather than retried forever. (Against the real Redis, through a
request: test_dramatiq_units.py.)"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest
from taskhelpers import wait_until

from kettle.tasks import TasksUnavailable
from kettle.tasks._message import TaskMessage
from kettle.tasks._outbox import Outbox


class Broker:
    """A broker that is down for its first ``down`` sends."""

    def __init__(self, down: int, error: Exception | None = None) -> None:
        self.down = down
        self.error = error or TasksUnavailable("the broker is down")
        self.received: list[str] = []

    def send(self, messages: Sequence[TaskMessage]) -> None:
        if self.down:
            self.down -= 1
            raise self.error
        self.received += [m.id for m in messages]


def test_waiting_messages_go_out_in_order_once_the_broker_answers() -> None:
    broker = Broker(down=2)
    outbox = Outbox(broker.send, "a broker")
    first, second = TaskMessage.new("a.one", [], {}), TaskMessage.new("a.two", [], {})
    outbox.add([first])
    outbox.add([second])
    wait_until(lambda: outbox.waiting == 0, within=10, what="the outbox to empty")
    assert broker.received == [first.id, second.id]


def test_a_message_refused_for_another_reason_is_logged_and_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = Broker(down=1, error=ValueError("not a message this broker takes"))
    outbox = Outbox(broker.send, "a broker")
    with caplog.at_level(logging.ERROR, logger="kettle.tasks"):
        outbox.add([TaskMessage.new("a.bad", [], {})])
        wait_until(lambda: outbox.waiting == 0, within=10, what="the outbox to give up")
    assert broker.received == []
    assert "could not send 1 task(s)" in caplog.text
