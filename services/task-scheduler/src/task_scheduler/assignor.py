"""Co-partitioned assignment of the session topics: a scheduler owns partition N of
acs.session-events.v1 and partition N of acs.session-messages.v1 together.

A device's Inform and its later messages are keyed by device id, so with equal partition counts
they land on the same partition number in both topics; the session lives in the scheduler that
took the Inform, so that scheduler must read the messages too. aiokafka's sticky assignor moves
partitions one by one and may split a pair; this one runs it over every topic but the messages
topic (a member joining or leaving still moves only what it must), then gives each member the
messages partitions numbered as its session-events partitions. Range, the fallback strategy
shared with members of the previous release, pairs them as well for equal counts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from aiokafka import TopicPartition
from aiokafka.cluster import ClusterMetadata
from aiokafka.coordinator.assignors.sticky.sticky_assignor import StickyAssignorUserDataV1, StickyPartitionAssignor
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment, ConsumerProtocolMemberMetadata

from acs_contracts.kafka_topics import SESSION_EVENTS, SESSION_MESSAGES


class CoPartitionedAssignor(StickyPartitionAssignor):
    """Sticky for SESSION_EVENTS (and any other topic), SESSION_MESSAGES following it."""

    name = "acs-copartitioned-sticky"
    version = 0
    # the sticky assignor keeps the member's last assignment on the class: one of its own
    member_assignment: list[TopicPartition] | None = None
    generation: int = StickyPartitionAssignor.DEFAULT_GENERATION_ID

    @classmethod
    def assign(cls, cluster: ClusterMetadata,
               members: Mapping[str, ConsumerProtocolMemberMetadata]) -> dict[str, ConsumerProtocolMemberAssignment]:
        leading = {member: _without_messages(cls, metadata) for member, metadata in members.items()}
        sticky = super().assign(cluster, leading)
        owned: dict[str, dict[str, list[int]]] = {m: defaultdict(list) for m in members}
        owner_of: dict[int, str] = {}
        for member, assignment in sticky.items():
            for topic, partitions in assignment.assignment:
                owned[member][topic].extend(partitions)
                if topic == SESSION_EVENTS:
                    owner_of.update(dict.fromkeys(partitions, member))
        readers = sorted(m for m, md in members.items() if SESSION_MESSAGES in md.subscription)
        for p in sorted(cluster.partitions_for_topic(SESSION_MESSAGES) or ()):
            member = _owner(p, owner_of, readers)
            if member is not None:
                owned[member][SESSION_MESSAGES].append(p)
        return {m: ConsumerProtocolMemberAssignment(cls.version, sorted((t, sorted(ps)) for t, ps in topics.items()), b"")
                for m, topics in owned.items()}


def _owner(partition: int, owner_of: dict[int, str], readers: list[str]) -> str | None:
    """Who reads this messages partition: the owner of the same-numbered session-events
    partition; beyond their count (topics grown apart), the owner of the number modulo it."""
    if not readers:
        return None
    if owner_of:
        member = owner_of.get(partition) or owner_of.get(sorted(owner_of)[partition % len(owner_of)])
        if member in readers:
            return member
    return readers[partition % len(readers)]


def _without_messages(cls: type[StickyPartitionAssignor],
                      metadata: ConsumerProtocolMemberMetadata) -> ConsumerProtocolMemberMetadata:
    """The member's subscription and previous assignment (its user data) with the messages topic
    left out, for the sticky pass."""
    topics = [t for t in metadata.subscription if t != SESSION_MESSAGES]
    parsed = cls.parse_member_metadata(metadata)
    previous: dict[str, list[int]] = defaultdict(list)
    for tp in parsed.partitions:
        if tp.topic != SESSION_MESSAGES:
            previous[tp.topic].append(tp.partition)
    user_data = StickyAssignorUserDataV1(list(previous.items()), parsed.generation).encode() if metadata.user_data else b""
    return ConsumerProtocolMemberMetadata(metadata.version, topics, user_data)
