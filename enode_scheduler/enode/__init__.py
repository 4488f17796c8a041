"""The Enode API client: auth, link flow, wire models, backoff; the only code that knows Enode."""

from __future__ import annotations

from enode_scheduler.enode.client import EnodeClient, open_enode_client
from enode_scheduler.enode.metrics import EnodeMetrics

__all__ = ["EnodeClient", "EnodeMetrics", "open_enode_client"]
