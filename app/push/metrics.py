"""Prometheus metrics of the push pipeline (served by /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

PUSH_QUEUE_DEPTH = Gauge(
    "wxbroker_push_queue_depth", "Stream entries not yet acked, per lane", ["lane"]
)
PUSH_SENDS = Counter(
    "wxbroker_push_sends_total", "Send attempts by kind and outcome", ["kind", "outcome"]
)
PUSH_ERRORS = Counter(
    "wxbroker_push_errors_total", "Failed sends by kind and WeChat errcode", ["kind", "errcode"]
)
PUSH_LAG = Histogram(
    "wxbroker_push_lag_seconds",
    "From row creation to WeChat accepting the send",
    ["kind"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)
PUSH_RELAYED = Counter("wxbroker_push_relayed_total", "Ids relayed into Redis", ["kind"])
PUSH_REQUEUED = Counter("wxbroker_push_requeued_total", "Rows the reconciler re-queued", ["kind"])
PUSH_HORIZON_WAIT = Gauge(
    "wxbroker_push_relay_horizon_wait_seconds",
    "How long the relay's oldest unproven id horizon has waited for producer transactions",
    ["kind"],
)
