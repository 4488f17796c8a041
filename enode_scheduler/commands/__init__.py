"""CLI subcommand groups; each module registers its commands on the root app in `cli.py`."""
