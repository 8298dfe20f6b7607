"""The co-partitioned assignor: whoever owns partition N of the session events owns partition N of
the session messages, with 1 to 3 members, and after a member leaves; the session-events
partitions stay where they were (sticky) when members come and go."""

from __future__ import annotations

from collections import Counter

import pytest
from aiokafka import TopicPartition
from aiokafka.cluster import ClusterMetadata
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment

from acs_contracts.kafka_topics import SESSION_EVENTS, SESSION_MESSAGES
from task_scheduler.assignor import CoPartitionedAssignor

PARTITIONS = 12


class Topics(ClusterMetadata):
    """Cluster metadata holding just the topics' partition counts (what an assignor reads)."""

    def __init__(self, counts: dict[str, int]) -> None:
        super().__init__()
        self.counts = counts

    def topics(self, exclude_internal_topics: bool = True) -> set[str]:
        return set(self.counts)

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        return set(range(self.counts[topic])) if topic in self.counts else None


CLUSTER = Topics({SESSION_EVENTS: PARTITIONS, SESSION_MESSAGES: PARTITIONS})


def _round(members: list[str], previous: dict[str, ConsumerProtocolMemberAssignment] | None = None,
           cluster: ClusterMetadata = CLUSTER, generation: int = 1) -> dict[str, ConsumerProtocolMemberAssignment]:
    """One rebalance: each member's metadata carries what it owned before (as a member does)."""
    metadata = {}
    for m in members:
        owned = previous[m].partitions() if previous and m in previous else None
        metadata[m] = CoPartitionedAssignor._metadata([SESSION_EVENTS, SESSION_MESSAGES], owned, generation)
    return CoPartitionedAssignor.assign(cluster, metadata)


def _by_topic(assignment: ConsumerProtocolMemberAssignment) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {SESSION_EVENTS: set(), SESSION_MESSAGES: set()}
    for tp in assignment.partitions():
        out[tp.topic].add(tp.partition)
    return out


def _check_paired(result: dict[str, ConsumerProtocolMemberAssignment], partitions: int = PARTITIONS) -> None:
    owners: Counter[TopicPartition] = Counter()
    for assignment in result.values():
        mine = _by_topic(assignment)
        assert mine[SESSION_EVENTS] == mine[SESSION_MESSAGES]
        owners.update(assignment.partitions())
    every = {TopicPartition(t, p) for t in (SESSION_EVENTS, SESSION_MESSAGES) for p in range(partitions)}
    assert set(owners) == every and set(owners.values()) == {1}  # each partition owned once


@pytest.mark.parametrize("members", [1, 2, 3])
def test_each_member_owns_the_same_numbers_of_both_topics_and_the_load_is_even(members):
    names = [f"scheduler-{i}" for i in range(members)]
    result = _round(names)
    _check_paired(result)
    sizes = [len(_by_topic(a)[SESSION_EVENTS]) for a in result.values()]
    assert max(sizes) - min(sizes) <= 1


def test_a_member_leaving_moves_only_its_partitions_and_pairs_stay_together():
    first = _round(["a", "b", "c"])
    second = _round(["a", "c"], first, generation=2)
    _check_paired(second)
    for m in ("a", "c"):  # what they owned, they keep: sticky
        assert _by_topic(first[m])[SESSION_EVENTS] <= _by_topic(second[m])[SESSION_EVENTS]
    assert _by_topic(second["a"])[SESSION_EVENTS] | _by_topic(second["c"])[SESSION_EVENTS] == set(range(PARTITIONS))
    third = _round(["a", "c", "d"], second, generation=3)  # and one joining takes only its share
    _check_paired(third)
    moved = sum(len(_by_topic(second[m])[SESSION_EVENTS] - _by_topic(third[m])[SESSION_EVENTS]) for m in ("a", "c"))
    assert moved == len(_by_topic(third["d"])[SESSION_EVENTS]) == PARTITIONS // 3


def test_a_member_of_the_previous_release_reading_only_session_events_gets_no_messages():
    metadata = {"new": CoPartitionedAssignor._metadata([SESSION_EVENTS, SESSION_MESSAGES], None, -1),
                "old": CoPartitionedAssignor._metadata([SESSION_EVENTS], None, -1)}
    result = CoPartitionedAssignor.assign(CLUSTER, metadata)
    assert _by_topic(result["old"])[SESSION_MESSAGES] == set()
    assert _by_topic(result["new"])[SESSION_MESSAGES] == set(range(PARTITIONS))


def test_more_message_partitions_than_event_partitions_still_all_owned_once():
    cluster = Topics({SESSION_EVENTS: 4, SESSION_MESSAGES: 6})
    result = _round(["a", "b"], cluster=cluster)
    owners = Counter(tp for a in result.values() for tp in a.partitions())
    assert {tp for tp in owners if tp.topic == SESSION_MESSAGES} == {TopicPartition(SESSION_MESSAGES, p) for p in range(6)}
    assert set(owners.values()) == {1}
    for a in result.values():  # the first four still follow their pair
        mine = _by_topic(a)
        assert {p for p in mine[SESSION_MESSAGES] if p < 4} == mine[SESSION_EVENTS]
