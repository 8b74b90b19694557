"""Content constants."""

# Keyword replies are cached per process and re-read this often (off the request path).
KEYWORD_REFRESH_INTERVAL_S = 10.0
# Ops-entered patterns stay short; long ones are where catastrophic backtracking hides.
MAX_KEYWORD_LENGTH = 200
MAX_REPLY_LENGTH = 2000
# Only the head of a long message is matched against regex rules.
MAX_MATCHED_TEXT = 600
