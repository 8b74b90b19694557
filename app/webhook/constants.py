"""Webhook constants that are not settings."""

# Inbound records kept in memory while the database is slow or down; beyond it the oldest go.
RECORDER_MAX_BUFFER = 100_000
# A batch the database refused this many times in a row is dropped (poison batch).
RECORDER_MAX_BATCH_FAILURES = 5
# Late (overrun) replies still running at shutdown get this long to finish.
LATE_REPLY_DRAIN_S = 10.0
# Column sizes of `inbound_event`, so a hostile value cannot poison a batch.
MAX_OPENID = 64
MAX_EVENT = 64
MAX_EVENT_KEY = 255
MAX_SCENE = 128
MAX_MSG_ID = 64
MAX_MSG_TYPE = 32
