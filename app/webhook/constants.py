"""Webhook constants that are not settings."""

# Inbound records kept in memory while the database is slow or down; beyond it the oldest go.
RECORDER_MAX_BUFFER = 100_000
# A batch the database refused this many times in a row is dropped (poison batch).
RECORDER_MAX_BATCH_FAILURES = 5
# A retry waits this much longer than the time budget for the first attempt's answer: the owner
# publishes one (its reply, the route's interim text, or `success`) just after its own deadline,
# which can fall a little after the retry's when both arrived together. 4.0 + 0.25 s stays well
# inside WeChat's 5 s.
RETRY_WAIT_GRACE_S = 0.25
# Sent as a CS message when a route answered its interim text ("正在查询…") and then produced no
# reply (its handler failed or returned nothing): the fan was promised a follow-up.
INTERIM_FOLLOW_UP_FAILED = "抱歉，本次查询未能完成，请稍后再试。"
# Late (overrun) replies still running at shutdown get this long to finish.
LATE_REPLY_DRAIN_S = 10.0
# Column sizes of `inbound_event`, so a hostile value cannot poison a batch.
MAX_OPENID = 64
MAX_EVENT = 64
MAX_EVENT_KEY = 255
MAX_SCENE = 128
MAX_MSG_ID = 64
MAX_MSG_TYPE = 32
