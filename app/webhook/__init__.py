"""The WeChat webhook: verify, parse, dedupe, route, answer within budget, record."""
