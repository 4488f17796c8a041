"""The one error tree of enode-scheduler.

Every adapter translates the errors of the library it wraps into one of these, keeping the cause
(``raise ... from exc``), and carries what a person needs to act as attributes::

    EnodeSchedulerError
    ├── ConfigError                 bad config file, key or secret (CLI exit 2)
    ├── InvalidInput                a bad request, plan or planning case (CLI exit 2, API 4xx)
    │   ├── InvalidCase             a planning case that breaks the contract
    │   ├── NotFound                a named thing (a site, a user) that does not exist (API 404)
    │   └── Conflict                a change that contradicts what is stored (API 409)
    │       └── LocationTaken       a charging location that is in another site already
    ├── StoreError                  the database
    │   ├── SchemaOutdated          the schema is behind the code; `db upgrade` fixes it
    │   ├── AlreadyRunning          another daemon holds the SQLite lock
    │   ├── StaleEpoch              a fencing epoch that is no longer its shard's
    │   └── TokenDecryptError       no configured key decrypts a stored token
    ├── LostLeadership              a shard's epoch refused or lease expired: stop sending for it
    ├── EnodeError                  anything from talking to Enode
    │   ├── EnodeTransportError     connect/read failure or timeout; no HTTP answer
    │   ├── EnodeMalformedResponse  an answer that does not follow the spec
    │   ├── EnodeGateClosed         a cooldown gate is closed; nothing was sent
    │   │   └── EnodeVendorOutage   the vendor is in OUTAGE (/health/vendors); nothing was sent
    │   ├── NeedsRelink             the user's tokens are gone or refused; link again
    │   ├── LinkError               the OAuth link flow failed (bad state, access_denied, ...)
    │   └── EnodeApiError           an HTTP error answer (RFC 7807 body parsed when present)
    │       ├── EnodeBadRequest     400
    │       ├── EnodeUnauthorized   401
    │       ├── EnodeForbidden      403
    │       ├── EnodeNotFound       404
    │       ├── EnodeRateLimited    429, with ``retry_after_s`` when the vendor said
    │       └── EnodeServerError    5xx
    └── PriceError                  anything from a price (or carbon-intensity) source
        ├── PriceSourceUnavailable  transport failure or an error answer
        ├── PriceFormatError        a document that cannot be parsed
        └── PricesNotPublished      the source answered, but has no data for that period yet
"""

from __future__ import annotations


class EnodeSchedulerError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(EnodeSchedulerError):
    """One or more problems in the configuration; ``problems`` holds one line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class InvalidInput(EnodeSchedulerError):
    """Input from a person or a client that cannot be used as given."""


class InvalidCase(InvalidInput):
    """A planning case that breaks docs/planner-case contract."""


class NotFound(InvalidInput):
    """The request names something that does not exist; the message names it."""


class Conflict(InvalidInput):
    """The request contradicts what is stored."""


class LocationTaken(Conflict):
    """A charging location can be in one site only, and this one is in `site`."""

    def __init__(self, *, user_id: str, location_id: str, site: str) -> None:
        self.user_id = user_id
        self.location_id = location_id
        self.site = site
        super().__init__(
            f"location {location_id!r} of user {user_id!r} is already in site {site!r}; "
            "detach it there first"
        )


class StoreError(EnodeSchedulerError):
    """The database failed or refused."""


class SchemaOutdated(StoreError):
    """The database schema is not at the revision this code needs."""


class AlreadyRunning(StoreError):
    """Another daemon already owns this database."""


class StaleEpoch(StoreError):
    """A write carried a fencing epoch that is no longer its shard's; `shards` says which."""

    def __init__(self, message: str, *, shards: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.shards = shards


class TokenDecryptError(StoreError):
    """No configured token key can decrypt a stored token."""


class LostLeadership(EnodeSchedulerError):
    """A shard's fencing epoch was refused, or its lease may have expired: another process may
    own it now; stop sending for it at once.

    The reconcile step raises it (from the store's StaleEpoch, or the send-time guard) so that the
    daemon, not the step, decides what follows: drop those shards (`shards`; empty: all of them)
    and wait for the next renewal.
    """

    def __init__(self, message: str, *, shards: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.shards = shards


class EnodeError(EnodeSchedulerError):
    """Talking to the Enode API failed."""


class EnodeTransportError(EnodeError):
    """No HTTP answer: connection refused, reset, or timed out."""


class EnodeMalformedResponse(EnodeError):
    """An answer whose body does not follow the Enode spec."""


class EnodeGateClosed(EnodeError):
    """The cooldown gate for this (user, vendor) is closed; nothing was sent."""

    def __init__(self, message: str, *, reopens_in_s: float) -> None:
        self.reopens_in_s = reopens_in_s
        super().__init__(message)


class EnodeVendorOutage(EnodeGateClosed):
    """Enode's /health/vendors reports the vehicle's vendor in OUTAGE; nothing was sent."""


class NeedsRelink(EnodeError):
    """The user's Enode tokens are missing, revoked or refused; the user must link again."""

    def __init__(self, message: str, *, user_id: str) -> None:
        self.user_id = user_id
        super().__init__(message)


class LinkError(EnodeError):
    """The OAuth link flow failed; ``error`` is the OAuth error code when there is one."""

    def __init__(self, message: str, *, error: str | None = None) -> None:
        self.error = error
        super().__init__(message)


class EnodeApiError(EnodeError):
    """Enode answered with an HTTP error status."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        problem_type: str | None = None,
        title: str | None = None,
        detail: str | None = None,
    ) -> None:
        self.status = status
        self.problem_type = problem_type
        self.title = title
        self.detail = detail
        super().__init__(message)


class EnodeBadRequest(EnodeApiError):
    """400: the request failed Enode's validation."""


class EnodeUnauthorized(EnodeApiError):
    """401: missing or invalid token."""


class EnodeForbidden(EnodeApiError):
    """403: authenticated, but no access to this resource."""


class EnodeNotFound(EnodeApiError):
    """404: no such resource."""


class EnodeRateLimited(EnodeApiError):
    """429: the vendor rate-limited the request."""

    def __init__(self, message: str, *, retry_after_s: float | None = None, **kw: object) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(message, status=429, **kw)  # type: ignore[arg-type]


class EnodeServerError(EnodeApiError):
    """5xx: Enode or the vendor failed."""


class PriceError(EnodeSchedulerError):
    """A price source failed."""


class PriceSourceUnavailable(PriceError):
    """The price source could not be reached or answered with an error."""


class PriceFormatError(PriceError):
    """The price document could not be parsed."""


class PricesNotPublished(PriceError):
    """The source has no prices for the asked period yet (normal before publication)."""
