"""Replay real sessions on real day-ahead prices: at once, daemon-style plan, foresight."""
