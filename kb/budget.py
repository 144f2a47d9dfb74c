"""What one request may cost: a deadline for its work, and a refusal for work that would not fit in it.

The web layer opens a budget for each request (`start`, `stop`); kb.search and kb.citecheck `check` it
between steps, and refuse beforehand a search whose estimated work is past it (kb.search estimates from
the index's term frequencies). A request therefore ends with an answer or a refusal that says why, never
in a worker killed for time. No Flask here; without a budget (the CLI, the tests of the library) nothing
is ever refused for time.
"""

from __future__ import annotations

import time
from contextvars import ContextVar

REQUEST_SECONDS = 3.0  # the work one request may do; the web layer's KB_REQUEST_SECONDS overrides it

_deadline: ContextVar[float | None] = ContextVar("kb_request_deadline", default=None)
_seconds: ContextVar[float | None] = ContextVar("kb_request_seconds", default=None)


class OverBudget(RuntimeError):
    """A request that ran out of time part-way (HTTP 503): the server was busy, or the request was costlier
    than estimated. Trying again later, or asking for less, may succeed."""


class TooCostly(ValueError):
    """A request whose estimated work is past what one request may do (HTTP 400): it must change."""


def start(seconds: float = REQUEST_SECONDS, *, started: float | None = None) -> None:
    """Give the work of this thread's current request `seconds`, counted from `started` (time.monotonic())."""
    _seconds.set(seconds)
    _deadline.set((time.monotonic() if started is None else started) + seconds)


def stop() -> None:
    _seconds.set(None)
    _deadline.set(None)


def allowed() -> float | None:
    """The seconds of work the current request may do in all, or None when it has no budget."""
    return _seconds.get()


def remaining() -> float | None:
    """The seconds left to the current request, or None when it has no budget."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


def check(doing: str, *, needs: float = 0.0, advice: str = "try again in a moment, or ask for less at once") -> None:
    """OverBudget when the current request's time is up, or has less than `needs` seconds left. The message
    says what the request was `doing` and what to do (`advice`)."""
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() + needs > deadline:
        raise OverBudget(f"the server ran out of time for this request while {doing} (a request may take "
                         f"{_seconds.get():g} s): {advice}")
