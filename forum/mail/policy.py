"""The one email policy every outgoing message is written with.

SMTP line endings; header objects fold themselves, raw (pre-folded) values are kept as
written (``refold_source="none"``): the email package would otherwise turn a long
unsubscribe URL into encoded-words that mail clients cannot use. A module of its own so
that `bulk`, `compose` and `outbox` share it without importing one another in a circle.
"""

from __future__ import annotations

from email import policy

POLICY = policy.SMTP.clone(refold_source="none")
