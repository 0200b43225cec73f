"""Mail: compose (headers, MIME), outbox (queue + sender), inbound (LMTP, inject)."""
