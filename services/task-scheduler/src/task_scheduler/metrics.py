"""Prometheus metrics of the scheduler (names documented in docs/metrics.md)."""

from prometheus_client import Counter, Gauge, Histogram

_FAST = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

EVENTS = Counter("acs_scheduler_events_total", "Session events consumed", ["kind"])
SESSIONS = Counter("acs_scheduler_sessions_total", "Sessions ended", ["outcome"])
ACTIVE_SESSIONS = Gauge("acs_scheduler_active_sessions", "Sessions held in memory")
RPCS = Counter("acs_scheduler_rpcs_total", "ACS requests sent to CPEs", ["rpc"])
RPC_DURATION = Histogram("acs_scheduler_rpc_duration_seconds", "ACS request sent to CPE response consumed", ["rpc"], buckets=_FAST)
CPE_FAULTS = Counter("acs_scheduler_cpe_faults_total", "CWMP faults returned by CPEs", ["code"])
TASKS = Counter("acs_scheduler_tasks_total", "Tasks finished", ["name", "status"])
CONSUMER_LAG = Gauge("acs_scheduler_consumer_lag", "Messages behind the end of each owned partition", ["partition"])
REPLY_SECONDS = Histogram("acs_scheduler_reply_seconds", "Event consumed to reply written to the gateway", buckets=_FAST)
MONGO_OP = Histogram("acs_mongo_operation_duration_seconds", "MongoDB round trips", ["op"], buckets=_FAST)
WRITE_BATCH = Histogram("acs_scheduler_write_batch_size", "Device updates per bulk write",
                        buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000))
OUTBOUND_DROPPED = Counter("acs_scheduler_outbound_dropped_total", "Outbound topic messages dropped (queue full or broker error)")
PENDING_WRITES = Gauge("acs_scheduler_pending_writes", "Store writes queued or in flight, not yet acknowledged")
PAUSED_PARTITIONS = Gauge("acs_scheduler_paused_partitions",
                          "Session-events partitions paused: new sessions wait in Kafka (SCHEDULER_MAX_ACTIVE_SESSIONS)")
LATE_MESSAGES = Counter("acs_scheduler_late_messages_total",
                        "Session messages dropped because a later Inform of their device was taken first")
AWAITING_INFORM = Gauge("acs_scheduler_messages_awaiting_inform", "Session messages read before their Inform was taken")
SCRIPT_FAULTS = Counter("acs_scheduler_script_faults_total", "GenieACS provision script runs that faulted a device", ["code"])
