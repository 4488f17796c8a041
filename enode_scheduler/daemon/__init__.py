"""The long-running service: lifecycle, jobs, leadership, health state, the HTTP server."""
