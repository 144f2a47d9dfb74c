"""A polite HTTP client for the fetcher: one request at a time, at most `rate` a second, retried with
backoff on timeouts, dropped connections, 5xx and 429, honouring Retry-After.

A request that still fails after its retries raises `RequestFailed` with one sentence saying why; a site
that asks to wait longer than `max_wait` raises `WaitTooLong` rather than sleeping for hours. The clock and
the sleep are injectable, so tests run with near-zero waits and can check the waits asked for.
"""

from __future__ import annotations

import http.client
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import Message
from email.utils import parsedate_to_datetime
from http.cookiejar import CookieJar
from urllib.parse import urlencode

CHUNK = 64 * 1024
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
RETRY_AFTER_STATUSES = frozenset({429, 503})


class RequestFailed(Exception):
    """A request that failed for good; str() is one sentence. `status` is the last HTTP status, if any."""

    def __init__(self, reason: str, status: int | None = None):
        super().__init__(reason)
        self.status = status


class WaitTooLong(RequestFailed):
    """The site asked to wait (Retry-After) longer than the client may."""


@dataclass(frozen=True)
class Politeness:
    """How the client treats the site. Defaults suit the DWC's public search."""

    rate: float = 1.0  # requests a second, retries included
    timeout: float = 60.0  # seconds for one request, from connecting to the last byte
    retries: int = 4  # further attempts after a failure that may pass
    backoff: float = 5.0  # seconds before the first retry; doubled for each further one
    max_wait: float = 900.0  # the longest Retry-After honoured; longer stops the run
    max_bytes: int = 50 * 1024 * 1024  # a larger answer is refused


@dataclass(frozen=True)
class Response:
    url: str
    status: int
    headers: Message
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get_content_type()

    def text(self) -> str:
        charset = self.headers.get_content_charset()
        for encoding in filter(None, (charset, "utf-8")):
            try:
                return self.body.decode(encoding)
            except (LookupError, UnicodeDecodeError):
                continue
        return self.body.decode("cp1252", errors="replace")  # classic ASP pages often are


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """A Retry-After header (seconds, or an HTTP date) in seconds from now; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


@dataclass
class PoliteClient:
    politeness: Politeness
    user_agent: str
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    requests: int = 0  # HTTP requests sent, retries included
    waited: float = 0.0  # seconds slept for pacing and backoff
    _next_at: float = 0.0
    _opener: urllib.request.OpenerDirector = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # A cookie jar, as a browser has: an ASP site may keep the search in a session.
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def get(self, url: str, params: dict[str, str] | None = None) -> Response:
        if params:
            url = f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
        return self._send(lambda: urllib.request.Request(url, headers=self._headers(), method="GET"))

    def post(self, url: str, fields: list[tuple[str, str]]) -> Response:
        body = urlencode(fields).encode("ascii")
        headers = {**self._headers(), "Content-Type": "application/x-www-form-urlencoded"}
        return self._send(lambda: urllib.request.Request(url, data=body, headers=headers, method="POST"))

    def _headers(self) -> dict[str, str]:
        return {"User-Agent": self.user_agent, "Accept": "text/html,application/pdf;q=0.9,*/*;q=0.5"}

    def _pace(self) -> None:
        delay = self._next_at - self.clock()
        if delay > 0:
            self._wait(delay)
        self._next_at = self.clock() + 1.0 / self.politeness.rate

    def _wait(self, seconds: float) -> None:
        self.waited += seconds
        self.sleep(seconds)

    def _send(self, make_request: Callable[[], urllib.request.Request]) -> Response:
        policy = self.politeness
        problem = ""
        status = None
        url = make_request().full_url
        for attempt in range(policy.retries + 1):
            self._pace()
            wait = policy.backoff * 2**attempt
            try:
                response = self._once(make_request())
            except RequestFailed:
                raise
            except (OSError, http.client.HTTPException) as error:
                problem, status = _describe_error(error, policy.timeout), None
            else:
                status = response.status
                if status < 400:
                    return response
                problem = f"HTTP {status}"
                if status not in RETRY_STATUSES:
                    raise RequestFailed(f"{url} answered HTTP {status}", status)
                asked = retry_after_seconds(response.headers.get("Retry-After")) \
                    if status in RETRY_AFTER_STATUSES else None
                if asked is not None:
                    wait = asked
                    if asked > policy.max_wait:
                        raise WaitTooLong(f"the site asked to wait {asked:.0f} s before asking again (HTTP {status} "
                                          f"with Retry-After), longer than the {policy.max_wait:g} s allowed", status)
            if attempt < policy.retries:
                self._wait(wait)
        tries = policy.retries + 1
        raise RequestFailed(f"{url} failed {tries} time{'s' if tries > 1 else ''}, the last with {problem}", status)

    def _once(self, request: urllib.request.Request) -> Response:
        self.requests += 1
        policy = self.politeness
        deadline = self.clock() + policy.timeout
        try:
            answer = self._opener.open(request, timeout=policy.timeout)
        except urllib.error.HTTPError as error:  # 4xx/5xx still carry headers and a body
            with error:
                body = _read(error, policy, deadline, self.clock, request.full_url)
            return Response(request.full_url, error.code, error.headers, body)
        with answer:
            body = _read(answer, policy, deadline, self.clock, request.full_url)
            return Response(answer.geturl(), answer.status, answer.headers, body)


def _read(stream, policy: Politeness, deadline: float, clock: Callable[[], float], url: str) -> bytes:
    """The whole body, within the request's time and size limits."""
    length = stream.headers.get("Content-Length")
    if length and length.isdigit() and int(length) > policy.max_bytes:
        raise RequestFailed(f"{url} is {int(length):,} bytes, over the limit of {policy.max_bytes:,}")
    chunks, size = [], 0
    while True:
        if clock() > deadline:
            raise TimeoutError("timed out")
        chunk = stream.read(CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > policy.max_bytes:
            raise RequestFailed(f"{url} sent more than the limit of {policy.max_bytes:,} bytes")
        chunks.append(chunk)


def _describe_error(error: BaseException, timeout: float) -> str:
    reason = getattr(error, "reason", None)
    if isinstance(error, urllib.error.URLError) and isinstance(reason, BaseException):
        error = reason
    if isinstance(error, (TimeoutError, socket.timeout)):
        return f"no answer within {timeout:g} s"
    if isinstance(error, http.client.IncompleteRead):
        return "a connection closed before the whole answer arrived"
    if isinstance(error, ConnectionError):
        return f"a dropped connection ({type(error).__name__})"
    if isinstance(error, socket.gaierror):
        return f"an unknown host ({error.strerror or error})"
    return f"{type(error).__name__}: {getattr(error, 'strerror', None) or error}"
