"""The costliest and most hostile requests found against the site, kept so that their figures can be
measured again (bench/bench_budget.py, bench/bench_overload.py) and held against the production setup
(tests/test_production.py).

- SLOWEST_SEARCHES: the query-language requests that once held a worker for seconds (a phrase of 124
  repeated common words: 20.5 s; an OR of many years: 7 s, on Whoosh at ~10k passages).
- brief_of_quotations: a cite-check of 200 quotations taken from the index (31 s on Whoosh, then a 500).
- QUADRATIC_BRIEFS: cite-check bodies that made a pattern backtrack ("CM12" and 199,990 spaces ran until
  gunicorn killed the worker; 199,999 typographic quotes took 12 s).
- slowloris: connections that trickle a request's headers, a byte at a time, and never finish them.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

from kb.citecheck import MAX_BRIEF_CHARS, MAX_QUOTES
from kb.query import MAX_QUERY_CHARS

COMMON_WORDS = ("the", "of", "is", "for", "not", "medically", "necessary", "and", "to", "in", "a", "with", "that",
                "or", "are", "there", "this", "be", "on", "as", "no")


def _longest(words: list[str], joiner: str, limit: int = MAX_QUERY_CHARS, wrap: str = "") -> str:
    """As many of `words` joined as fit in the query length limit (with `wrap` at both ends)."""
    text = ""
    for word in words:
        longer = f"{text}{joiner}{word}" if text else word
        if len(longer) + 2 * len(wrap) > limit:
            break
        text = longer
    return f"{wrap}{text}{wrap}"


def _search(q: str) -> str:
    return "/api/search?" + urlencode({"q": q})


SLOWEST_SEARCHES = {
    "a phrase of 124 repeated common words": _search(_longest(["the"] * 200, " ", wrap='"')),
    "a phrase of common words in turn": _search(_longest(list(COMMON_WORDS) * 10, " ", wrap='"')),
    "an OR of many years": _search(_longest([f"year:{year}" for year in range(2013, 2100)], " OR ")),
    "an OR of wide year ranges": _search(_longest([f"year:{1990 + i}-{2030 + i}" for i in range(40)], " OR ")),
    "an OR of common words": _search(_longest(list(COMMON_WORDS) * 3, " OR ")),
    "an AND of common words": _search(_longest(list(COMMON_WORDS) * 3, " ")),
    "common words negated": _search(_longest(["-" + word for word in COMMON_WORDS], " ")),
    "three prefixes of common words": _search("med* nec* rec*"),
    "a phrase of common words, a precedent page": "/api/precedents?" + urlencode(
        {"q": _longest(list(COMMON_WORDS), " ", wrap='"')}),
}


def brief_of_quotations(index_dir: Path, count: int = MAX_QUOTES, words: int = 30) -> str:
    """A brief quoting `count` stretches of `words` words from rationales of the index (spread over it),
    each quotation followed by a case number: as costly a cite-check as the limits allow."""
    from kb.search import SearchIndex

    index = SearchIndex(index_dir)
    generation = index.generation()
    rows = [int(row) for row in generation.columns.passage.nonzero()[0]]
    quotes: list[str] = []
    step = max(1, len(rows) // (count * 2))
    for fields in generation.reader.stored(rows[::step][:count * 2]):
        text = [word for word in fields.get("rationale", "").split() if '"' not in word and "\u201d" not in word]
        if len(text) >= words + 5:
            quotes.append(" ".join(text[5:5 + words]))
        if len(quotes) == count:
            break
    index.close()
    brief = " ".join(f'The reviewer wrote that "{quote}" (CM16-{n:07d}).' for n, quote in enumerate(quotes))
    return brief[:MAX_BRIEF_CHARS]


QUADRATIC_BRIEFS = {
    "a case number's start and 199,990 spaces": "CM12" + " " * 199_990,
    "199,999 typographic opening quotes": "\u201c" * 199_999,
    "a quotation of 4,000 spaces around would-be ellipses": ('"six words to be checked here' + " " * 3_900 + '. . x" ')
                                                            * 50,
}


def cite_check_body(text: str) -> bytes:
    return json.dumps({"text": text}, ensure_ascii=False).encode("utf-8")


NESTED_JSON = b"[" * 100_000


@contextmanager
def slowloris(host: str, port: int, sockets: int = 4, interval: float = 0.5):
    """`sockets` connections, each sending a request's headers one byte every `interval` seconds, never
    finishing them, for as long as the block lasts; yields a list that counts each socket's bytes sent."""
    stop = threading.Event()
    sent = [0] * sockets
    header = b"GET /search?q=slow HTTP/1.1\r\nHost: localhost\r\n" + b"X-Slow: " + b"a" * 100_000

    def trickle(n: int) -> None:
        while not stop.is_set():
            try:
                with socket.create_connection((host, port), timeout=5) as sock:
                    for byte in header:
                        if stop.wait(interval):
                            return
                        sock.sendall(bytes([byte]))
                        sent[n] += 1
            except OSError:  # closed by the server (a header timeout): connect again, as an attacker would
                time.sleep(interval)

    with running(trickle, sockets, stop, join_timeout=10):
        yield sent


@contextmanager
def running(target, count: int, stop: threading.Event, join_timeout: float):
    """`count` daemon threads running target(n) for as long as the block lasts; `stop` is set at its end."""
    threads = [threading.Thread(target=target, args=(n,), daemon=True) for n in range(count)]
    for thread in threads:
        thread.start()
    try:
        yield threads
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=join_timeout)
