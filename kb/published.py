"""The published generation as the site serves it. No Flask here.

Each request asks for the generation CURRENT names (CURRENT is read, and the generation's directory
stat'ed, every time: a newly published generation, or an index replaced wholesale under the running
site, is noticed at once). A generation is opened only after the cheap check (its manifest is there and
every file has its recorded size). When that check fails, or the generation fails while serving and a
deep check then finds its bytes changed, it is set aside: the newest earlier generation that passes is
served instead, and `notice` says so on every page and in every JSON answer. With none left, the answer
is IndexDamaged, which the site turns into a 503 page naming the damage.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
import threading
from threading import Lock

import numpy as np

from kb import index as kb_index
from kb.columns import Columns
from kb.engines import EngineError, Reader, engine_of
from kb.integrity import IndexDamaged, Problem, check_generation, generation_bytes


DEEP_CHECK_AT_OPEN = 256 * 1024 * 1024  # bytes hashed before the first answer (about 0.1 s); more in a thread


class MaskCache:
    """The row masks of the most recent text queries of one generation: refining a search by a facet, a
    date or a page repeats its text query, which then costs nothing. Thread-safe; `size` 0 keeps none."""

    def __init__(self, size: int):
        self.size = size
        self._masks: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = Lock()

    def get(self, key: str, compute) -> np.ndarray:
        with self._lock:
            if key in self._masks:
                self._masks.move_to_end(key)
                return self._masks[key]
        mask = compute()
        mask.flags.writeable = False  # shared between requests
        if self.size:
            with self._lock:
                self._masks[key] = mask
                while len(self._masks) > self.size:
                    self._masks.popitem(last=False)
        return mask


@dataclass
class Generation:
    name: str
    reader: Reader
    engine: object  # the kb.engines module that reads it: its query constructors
    columns: Columns
    synthetic: bool = False
    text_masks: MaskCache | None = None
    path: Path | None = None
    notice: str | None = None  # why this is not the generation CURRENT names, said on every page
    wanted: tuple = field(default=(), repr=False)  # (CURRENT's name, its directory's identity) it answers for


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _listed(problems: list[Problem]) -> str:
    shown = "; ".join(str(p) for p in problems[:3])
    return shown + (f"; and {len(problems) - 3} more" if len(problems) > 3 else "")


class PublishedIndex:
    """The generation to serve for `index_dir`, opened once per generation and shared by requests."""

    def __init__(self, index_dir: Path, *, cached_queries: int, deep_check_at_open: int = DEEP_CHECK_AT_OPEN):
        self.index_dir = Path(index_dir)
        self.cached_queries = cached_queries
        self.deep_check_at_open = deep_check_at_open
        self._lock = Lock()
        self._open: Generation | None = None
        self._damaged: dict[tuple, list[Problem]] = {}  # (name, identity) -> what is wrong with it
        # the generation this thread was last given: a request that failed is diagnosed on what it read, even
        # when the background check has set that generation aside meanwhile
        self._given = threading.local()

    def current(self) -> Generation:
        wanted = self._wanted()
        served = self._open
        if served is None or served.wanted != wanted:
            with self._lock:
                if self._open is None or self._open.wanted != wanted:
                    self._open = self._choose(wanted)
                served = self._open
        self._given.generation = served
        return served

    def close(self) -> None:
        self._open = None

    def _wanted(self) -> tuple:
        name = kb_index.current_generation(self.index_dir)
        problem = kb_index.current_problem(self.index_dir)
        if name is None and problem is None:
            raise FileNotFoundError(f"no index in {self.index_dir} (run: kb index PATH --index-dir {self.index_dir})")
        return (name, _identity(self.index_dir / name) if name else None, problem)

    def _choose(self, wanted: tuple) -> Generation:
        name, identity, problem = wanted
        if problem is not None:
            why = f"index/CURRENT {problem}"
        else:
            generation = self._try(self.index_dir / name, (name, identity))
            if isinstance(generation, Generation):
                generation.wanted = wanted
                return generation
            why = f"the published index {name} is damaged ({_listed(generation)})"
        for path in reversed(kb_index.generation_dirs(self.index_dir)):
            if name is not None and path.name >= name:
                continue
            earlier = self._try(path, (path.name, _identity(path)))
            if isinstance(earlier, Generation):
                earlier.notice = (f"{why}; showing the previous generation, {path.name}, which may lack the newest "
                                  "letters. The operator should run kb verify and kb index --repair.")
                earlier.wanted = wanted
                return earlier
        raise IndexDamaged(f"{why}, and no earlier generation is whole: run kb verify --index-dir {self.index_dir}, "
                           f"then kb index --repair --index-dir {self.index_dir}")

    def _try(self, path: Path, key: tuple) -> Generation | list[Problem]:
        """The generation opened, or what is wrong with it. Every byte is checked too: at once for an index
        of up to DEEP_CHECK_AT_OPEN bytes, else in a thread while it is served (a flipped byte in a column
        of numbers gives wrong answers, not errors)."""
        if key in self._damaged:
            return self._damaged[key]
        problems = check_generation(path, deep=False)
        if not problems:
            small = generation_bytes(path) <= self.deep_check_at_open
            try:
                opened = self._opened(path)
            except EngineError:
                raise
            except BaseException as error:  # noqa: BLE001 - a damaged file fails in any way (tantivy: panics)
                if isinstance(error, (KeyboardInterrupt, SystemExit)):
                    raise
                problems = check_generation(path, deep=True)
                if not problems:
                    raise EngineError(f"the index {path.name} cannot be opened ({type(error).__name__}: {error}), "
                                      "though its files match their checksums") from error
            else:
                problems = check_generation(path, deep=True) if small else []
                if not problems:
                    if not small:
                        threading.Thread(target=self._check_in_background, args=(opened, key), daemon=True,
                                         name="kb-verify").start()
                    return opened
        self._damaged[key] = problems
        return problems

    def _check_in_background(self, generation: Generation, key: tuple) -> None:
        problems = check_generation(generation.path, deep=True)
        if problems:
            with self._lock:
                self._damaged[key] = problems
                if self._open is generation:
                    self._open = None

    def _opened(self, path: Path) -> Generation:
        engine = engine_of(path)
        reader = engine.open(path)
        synthetic = bool(reader.top(engine.term("synthetic", True), 1))
        return Generation(path.name, reader, engine, Columns.load(path), synthetic=synthetic,
                          text_masks=MaskCache(self.cached_queries), path=path)

    def diagnose(self, error: BaseException) -> IndexDamaged | None:
        """After a request failed with `error`: when the generation it read has damaged bytes, set it aside
        (the next request is served from an earlier one) and return the IndexDamaged to answer with; None
        when its files are whole (the error is a bug, not damage)."""
        served = getattr(self._given, "generation", None) or self._open
        if served is None or served.path is None:
            return None
        problems = self._damaged.get((served.name, _identity(served.path))) or check_generation(served.path,
                                                                                               deep=True)
        if not problems:
            return None
        with self._lock:
            self._damaged[(served.name, _identity(served.path))] = problems
            if self._open is served:
                self._open = None
        return IndexDamaged(f"the published index {served.name} is damaged ({_listed(problems)}): this request "
                            f"could not be answered. Run kb verify --index-dir {self.index_dir}, then kb index "
                            f"--repair --index-dir {self.index_dir}", problems)
