"""Prometheus metrics of the gateway (names documented in docs/metrics.md)."""

from prometheus_client import Counter, Gauge, Histogram

_FAST = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

HTTP_REQUESTS = Counter("acs_gateway_http_requests_total", "CWMP HTTP requests answered", ["kind", "status"])
SESSIONS = Counter("acs_gateway_sessions_total", "Sessions seen ending at this gateway", ["outcome"])
INFORMS = Counter("acs_gateway_informs_total", "Informs acknowledged, by event code", ["event_code"])
ACTIVE = Gauge("acs_gateway_active_sessions", "CWMP HTTP requests in flight on this instance")
REJECTED = Counter("acs_gateway_rejected_total", "Requests refused", ["reason"])
REQUEST_DURATION = Histogram("acs_gateway_request_duration_seconds", "Time to answer one CWMP POST", ["kind"], buckets=_FAST)
SESSION_DURATION = Histogram("acs_gateway_session_duration_seconds", "Inform to session end",
                             buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120))
_HOP = (0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.0025, 0.003, 0.004, 0.005, 0.006, 0.0075, 0.01, 0.015,
        0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
REPLY_HOP = Histogram("acs_gateway_reply_hop_seconds", "Session event published to scheduler reply received", buckets=_HOP)
KAFKA_PUBLISH = Histogram("acs_gateway_kafka_publish_seconds", "Produce with acks=all until acknowledged", buckets=_FAST)

CPE_LOGINS = Counter("acs_gateway_cpe_logins_total", "CPE Inform logins, by the credentials they matched",
                     ["outcome"])  # current, pending, previous_in_grace, default, refused
for _o in ("current", "pending", "previous_in_grace", "default", "refused"):
    CPE_LOGINS.labels(_o)
for _r in ("affinity_auth", "auth", "backpressure", "bad_request", "broker_unavailable", "reply_timeout"):
    REJECTED.labels(_r)
