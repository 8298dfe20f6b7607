"""Offsets are committed only past events whose effects are durable."""

from task_scheduler.offsets import OffsetTracker


def test_commit_point_is_lowest_unfinished():
    t = OffsetTracker()
    for off in (10, 11, 12):
        t.add("p0", off)
    t.done("p0", 11)
    assert t.commit_points() == {"p0": 10}
    t.done("p0", 10)
    assert t.commit_points() == {"p0": 12}
    t.committed({"p0": 12})
    assert t.commit_points() == {}
    t.done("p0", 12)
    assert t.commit_points() == {"p0": 13}


def test_partitions_are_independent_and_forgettable():
    t = OffsetTracker()
    t.add("p0", 5)
    t.add("p1", 7)
    t.done("p1", 7)
    assert t.commit_points() == {"p0": 5, "p1": 8}
    t.forget(["p0"])
    assert t.commit_points() == {"p1": 8}
    assert t.in_flight() == 0
