"""Notifications: events detected from the daemon's view, written to an outbox, delivered to
Apprise URLs and signed webhooks at least once, rate-limited per target.

- `detect`: pure detection of events (goal at risk or missed, failed commands, relinks, ...).
- `targets`: where a message goes (Apprise, signed JSON webhook) and the webhook signature.
- `dispatch`: the outbox worker (fan-out, backoff, per-target rate limit with summaries).
"""
