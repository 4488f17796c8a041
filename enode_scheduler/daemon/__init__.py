"""The long-running service: lifecycle, jobs, leadership, health endpoints."""
