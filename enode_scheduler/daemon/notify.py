"""systemd's notify protocol (READY, WATCHDOG, STOPPING) in a few lines of socket code."""

from __future__ import annotations

import socket

import structlog

log = structlog.get_logger()


class Notifier:
    """Sends `KEY=VALUE` datagrams to `NOTIFY_SOCKET`; does nothing when not under systemd."""

    def __init__(self, address: str | None, *, watchdog_usec: str | None = None) -> None:
        self.address = address or None
        self.watchdog_interval_s = _watchdog_s(watchdog_usec)
        self.sent: list[str] = []

    def notify(self, message: str) -> None:
        if self.address is None:
            return
        target = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.connect(target)
                sock.sendall(message.encode())
        except OSError as exc:
            log.warning("sd_notify_failed", message=message, error=str(exc))
            return
        self.sent.append(message)

    def ready(self) -> None:
        self.notify("READY=1\nSTATUS=reconciling")

    def watchdog(self) -> None:
        self.notify("WATCHDOG=1")

    def stopping(self) -> None:
        self.notify("STOPPING=1")


def _watchdog_s(usec: str | None) -> float | None:
    if not usec:
        return None
    try:
        value = int(usec)
    except ValueError:
        return None
    return value / 1e6 if value > 0 else None
