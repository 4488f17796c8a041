"""One request to the Enode API through gates, pacing, auth and bounded retries."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import structlog

from enode_scheduler.clock import Clock
from enode_scheduler.config import EnodeSettings
from enode_scheduler.enode.auth import ClientToken, UserTokenManager
from enode_scheduler.enode.backoff import GateBook, Pacer, full_jitter_s
from enode_scheduler.enode.errors import api_error, parse_retry_after, transport_error
from enode_scheduler.enode.metrics import EnodeMetrics
from enode_scheduler.exceptions import EnodeGateClosed, EnodeTransportError

log = structlog.get_logger()

Auth = Literal["user", "client", "none"]


@dataclass(frozen=True)
class Call:
    """What to send: `idempotent` calls (GETs) may be retried, the others never."""

    operation: str
    method: str
    path: str
    auth: Auth
    user_id: str | None = None
    vendor: str | None = None
    params: list[tuple[str, str | int | float | bool | None]] = field(default_factory=list)
    json: Any = None
    idempotent: bool = True
    # A command only the leader may send: checked against the send guard just before it goes out.
    fenced: bool = False


@dataclass
class _Attempt:
    retries: int = 0
    refreshed: bool = False


class Transport:
    """Sends Calls; the only place that retries, and only GETs (plus one resend after a 401)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        settings: EnodeSettings,
        *,
        clock: Clock,
        client_token: ClientToken,
        user_tokens: UserTokenManager,
        metrics: EnodeMetrics,
        rng: random.Random,
    ) -> None:
        self._http = http
        self._settings = settings
        self._clock = clock
        self._client_token = client_token
        self._users = user_tokens
        self.metrics = metrics
        self._rng = rng
        self._base_url = str(settings.api_url).rstrip("/")
        self.gates = GateBook(
            clock,
            backoff_base_s=settings.backoff_base_s,
            backoff_cap_s=settings.backoff_cap_s,
            retry_after_max_s=settings.retry_after_max_s,
            rng=rng,
        )
        self.pacer = Pacer(clock, max_requests_per_s=settings.max_requests_per_s)
        # Raises when this process may no longer send fenced calls for the call's user (the
        # daemon's check of that user's shard lease).
        self.send_guard: Callable[[str | None], None] | None = None

    async def send(self, call: Call) -> httpx.Response:
        """Send once (or retry a GET on transient failures); raise the error tree otherwise."""
        attempt = _Attempt()
        while True:
            await self._pass_gates(call)
            token = await self._token(call)
            if call.fenced and self.send_guard is not None:
                # After the gates, the pace and the token, the last await before the request:
                # a process paused anywhere before here finds its lease gone and sends nothing.
                self.send_guard(call.user_id)
            try:
                response = await self._send_once(call, token)
            except EnodeTransportError:
                if not await self._may_retry(call, attempt):
                    raise
                continue
            if response.status_code < 400:
                self.gates.succeeded(self._gate_user(call), call.vendor)
                return response
            await self._handle_error(call, response, token, attempt)

    async def _pass_gates(self, call: Call) -> None:
        self._check_gate(call)
        queued_s = self.gates.reopen_wait_s(self._gate_user(call), call.vendor)
        if queued_s > self._settings.max_inline_wait_s:
            # Far back in a reopened gate's queue: the caller reschedules, as for a closed gate.
            self.metrics.gate_refusals[call.operation] += 1
            raise EnodeGateClosed(
                f"gate reopening for user={call.user_id} vendor={call.vendor}",
                reopens_in_s=queued_s,
            )
        if queued_s > 0:
            await self._clock.sleep(queued_s)
        paced_before = self.pacer.waited_seconds_total
        await self.pacer.wait()
        self.metrics.paced_seconds_total += self.pacer.waited_seconds_total - paced_before
        # The gate may have closed while this request waited for its pace slot.
        self._check_gate(call)

    def _check_gate(self, call: Call) -> None:
        try:
            self.gates.check(self._gate_user(call), call.vendor)
        except EnodeGateClosed:
            self.metrics.gate_refusals[call.operation] += 1
            raise

    @staticmethod
    def _gate_user(call: Call) -> str | None:
        return call.user_id if call.auth == "user" else None

    async def _token(self, call: Call) -> str | None:
        if call.auth == "user":
            assert call.user_id is not None
            return await self._users.access_token(call.user_id)
        if call.auth == "client":
            return await self._client_token.get()
        return None

    async def _send_once(self, call: Call, token: str | None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        url = self._base_url + call.path
        try:
            response = await self._http.request(
                call.method, url, params=call.params or None, json=call.json, headers=headers
            )
        except httpx.HTTPError as exc:
            self.metrics.record(call.operation, "transport")
            log.warning("enode_request_failed", operation=call.operation, error=type(exc).__name__)
            raise transport_error(exc, operation=call.operation) from exc
        self.metrics.record(call.operation, response.status_code)
        log.debug("enode_request", operation=call.operation, status=response.status_code)
        return response

    async def _handle_error(
        self, call: Call, response: httpx.Response, token: str | None, attempt: _Attempt
    ) -> None:
        """Return to send again; otherwise raise the typed error."""
        status = response.status_code
        if status == 401 and token and not attempt.refreshed:
            attempt.refreshed = True
            await self._renew(call, token)
            return
        if status in (401, 403) and call.auth == "user":
            assert call.user_id is not None
            cause = api_error(response, operation=call.operation)
            raise await self._users.relink(call.user_id, reason=f"HTTP {status}") from cause
        if status == 429:
            await self._rate_limited(call, response, attempt)
            return
        error = api_error(response, operation=call.operation)
        if status >= 500 and await self._may_retry(call, attempt):
            return
        raise error

    async def _renew(self, call: Call, stale: str) -> None:
        if call.auth == "user":
            assert call.user_id is not None
            await self._users.refresh(call.user_id, stale=stale)
        else:
            self._client_token.invalidate(stale)

    async def _rate_limited(self, call: Call, response: httpx.Response, attempt: _Attempt) -> None:
        said_s = parse_retry_after(response.headers.get("Retry-After"), now=self._clock.now())
        closed_s = self.gates.close(self._gate_user(call), call.vendor, retry_after_s=said_s)
        self.metrics.gated_seconds_total += closed_s
        log.warning(
            "enode_rate_limited",
            operation=call.operation,
            user_id=call.user_id,
            vendor=call.vendor,
            retry_after_s=said_s,
            closed_s=round(closed_s, 3),
        )
        error = api_error(response, operation=call.operation, retry_after_s=closed_s)
        if not self._may_wait(call, attempt, closed_s):
            raise error
        attempt.retries += 1
        await self._clock.sleep(closed_s)

    def _may_wait(self, call: Call, attempt: _Attempt, wait_s: float) -> bool:
        # A long wait inside one call would hold up every other car of a reconcile step; the
        # caller reschedules instead (the gate keeps the vendor's Retry-After either way).
        return self._retries_left(call, attempt) and wait_s <= self._settings.max_inline_wait_s

    def _retries_left(self, call: Call, attempt: _Attempt) -> bool:
        return call.idempotent and attempt.retries < self._settings.get_retries

    async def _may_retry(self, call: Call, attempt: _Attempt) -> bool:
        """Wait a full-jitter delay and return True when a transient failure may be retried."""
        if not self._retries_left(call, attempt):
            return False  # before the draw: a refused retry leaves the shared rng untouched
        delay_s = full_jitter_s(
            attempt.retries,
            base_s=self._settings.backoff_base_s,
            cap_s=self._settings.backoff_cap_s,
            rng=self._rng,
        )
        if delay_s > self._settings.max_inline_wait_s:
            return False
        attempt.retries += 1
        log.info("enode_request_retry", operation=call.operation, delay_s=round(delay_s, 3))
        await self._clock.sleep(delay_s)
        return True
