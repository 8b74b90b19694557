"""Push pipeline: outbox relay, Redis Streams worker, rate limiter, receipts, reconciler."""
