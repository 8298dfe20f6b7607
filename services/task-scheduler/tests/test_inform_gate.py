"""InformGate: a message waits until its Inform's offset is taken, a device's messages stay in
order, and partitions given up or messages no one waits for any more leave it."""

from __future__ import annotations

from aiokafka import TopicPartition

from task_scheduler.inform_gate import InformGate

EVENTS = TopicPartition("acs.session-events.v1", 0)
OTHER = TopicPartition("acs.session-events.v1", 1)
MESSAGES = TopicPartition("acs.session-messages.v1", 0)


def test_a_message_waits_for_its_inform_and_goes_in_the_order_read():
    gate: InformGate[str] = InformGate()
    gate.start(EVENTS, 5)  # offsets 0-4 taken before (here or by the previous owner)
    assert not gate.hold(EVENTS, 4, "a", "a@4")  # its Inform was taken: on at once
    assert gate.hold(EVENTS, 6, "b", "b@6") and gate.hold(EVENTS, 5, "c", "c@5")
    assert gate.hold(EVENTS, 4, "b", "b-again")  # behind b's waiting message, whatever its Inform
    assert len(gate) == 3
    assert gate.took(EVENTS, 5) == ["c@5"]
    assert gate.took(EVENTS, 6) == ["b@6", "b-again"] and not gate


def test_unknown_partitions_and_unknown_offsets_are_not_held():
    gate: InformGate[str] = InformGate()
    assert not gate.hold(OTHER, 3, "a", "x")  # not owned here: nothing would release it
    gate.start(EVENTS, 0)
    assert not gate.hold(EVENTS, -1, "a", "y")  # a session opened before the position was carried


def test_partitions_given_up_and_unwanted_messages_leave():
    gate: InformGate[tuple[TopicPartition, str]] = InformGate()
    gate.start(EVENTS, 0)
    gate.start(OTHER, 0)
    gate.hold(EVENTS, 3, "a", (MESSAGES, "a"))
    gate.hold(OTHER, 3, "b", (TopicPartition("acs.session-messages.v1", 1), "b"))
    gate.hold(EVENTS, 4, "c", (MESSAGES, "c"))
    assert gate.drop(lambda item: item[1] == "c") == [(MESSAGES, "c")]
    assert gate.forget([MESSAGES], lambda item: item[0]) == [(MESSAGES, "a")]  # read from a partition given up
    assert gate.knows(EVENTS) and len(gate) == 1
    assert gate.forget([OTHER], lambda item: item[0]) == [(TopicPartition("acs.session-messages.v1", 1), "b")]
    assert not gate.knows(OTHER) and not gate
