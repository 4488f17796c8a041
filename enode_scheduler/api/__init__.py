"""The HTTP API (FastAPI): link users, manage plans and overrides, explain schedules, take webhooks.

- `app`: `create_api`, the app factory; `wiring`: the app over the daemon's built adapters.
- `auth`: bearer tokens and scopes; `problems`: RFC 7807 bodies; `limits`: request size limits.
- `models`: request and response bodies; `convert`: records to bodies.
- `routes/`: one module per resource (users and linking, vehicles and plans, webhooks).
- `webhook_events`: Enode's webhook payloads, checked and turned into readings.
"""
