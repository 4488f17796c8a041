"""The SQL store: one repository per aggregate behind the Protocols in `ports.py`.

Open it with `open_store(settings.database, state_dir=settings.state_dir)`.
"""

from __future__ import annotations

from enode_scheduler.store.facade import Store, open_store

__all__ = ["Store", "open_store"]
