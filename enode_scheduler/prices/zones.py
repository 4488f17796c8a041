"""The bidding zones for the price sources; the table lives in `enode_scheduler.zones`."""

from enode_scheduler.zones import ZONES, Zone, get_zone

__all__ = ["ZONES", "Zone", "get_zone"]
