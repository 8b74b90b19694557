"""WeChat service-account backend for a securities brokerage."""
