"""HTTP fakes of third parties served under /_sim: the WeChat API simulator (and, later, others)."""
