"""What the search box understands beyond its query language (kb.query): what attorneys type. No Flask here;
kb.web.search_views acts on it.

- Case numbers however written (CM16-0213037, CM16 0213037, cm160213037): one alone stands for its letter;
  several, or one among words, become `case:` filters.
- Guideline citations in words ("MTUS p. 29", "Chronic Pain Guidelines page 24", "ODG low back",
  "ACOEM ch. 12"), matched against the citations the index holds (their ids and labels), so a guess is
  always a citation some decision makes.
- Drug and treatment names misspelled ("carisoprodal", "hydrocodon"): the closest names of the drug table
  and of the index's own tags, offered when a search finds nothing.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import lru_cache

from kb.documents import CASE_NUMBER
from kb.drugs import DRUGS, resolve_drug
from kb.guidelines import citation_label

MAX_CASE_NUMBERS = 20  # more than this in the box is a list to check: cite-check takes briefs
MAX_SPELLING_WORDS = 6  # words of one query looked up for a misspelling
MIN_SPELLING_CHARS = 4
SPELLING_CUTOFF = 0.8  # difflib's ratio: "carisoprodal" -> "carisoprodol" is 0.92, "norco" -> "narco" 0.8
LETTER_ID = re.compile(r"L-[0-9a-f]{12}", re.I)  # a letter without a case number (kb.documents.letter_id_of)

# --------------------------------------------------------------------------------------------
# Case numbers


@dataclass(frozen=True)
class CaseNumbers:
    numbers: tuple[str, ...]  # canonical, in the order typed, once each
    rest: str  # the query without them
    query: str  # the query with them as case: filters

    @property
    def alone(self) -> bool:
        """One case number and nothing else: it stands for its letter."""
        return len(self.numbers) == 1 and not self.rest

    def explained(self, missing: tuple[str, ...] = ()) -> str:
        """What the page says it did; `missing` are the numbers no letter of the index has."""
        one = len(self.numbers) == 1
        said = f"{_listed(self.numbers)} {'is a case number' if one else 'are case numbers'}"
        if set(missing) == set(self.numbers):
            return f"{said}, and this index has no letter with {'it' if one else 'any of them'}."
        whose = "its" if one else "their"
        did = f"searching {whose} decisions for “{self.rest}”" if self.rest else f"showing {whose} decisions"
        return f"{said}: {did}." + (f" This index has no letter {' or '.join(missing)}." if missing else "")


def _listed(names: tuple[str, ...] | list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def case_numbers(q: str) -> CaseNumbers | None:
    """The case numbers typed as words in `q` (not those already written case:...), or None."""
    found: list[str] = []
    kept: list[str] = []
    position = 0
    for match in CASE_NUMBER.finditer(q):
        if q[max(0, match.start() - 8):match.start()].rstrip(" \"'").lower().endswith("case:"):
            continue  # written as a filter already: case:CM16-0213037, case:"CM16 0213037"
        kept.append(q[position:match.start()])
        position = match.end()
        number = f"CM{match.group(1)}-{match.group(2)}"
        if number not in found:
            found.append(number)
    if not found or len(found) > MAX_CASE_NUMBERS:
        return None
    kept.append(q[position:])
    words = "".join(kept).replace(",", " ").replace(";", " ").split()
    while words and words[0] in ("OR", "AND"):  # the operators that joined the case numbers
        words.pop(0)
    while words and words[-1] in ("OR", "AND"):
        words.pop()
    rest = " ".join(w for i, w in enumerate(words) if not (w in ("OR", "AND") and words[i - 1] in ("OR", "AND")))
    filters = " OR ".join(f"case:{n}" for n in found)
    query = filters if len(found) == 1 else f"({filters})"
    return CaseNumbers(tuple(found), rest, f"{query} {rest}".strip())


def letter_typed(q: str) -> str | None:
    """The letter `q` names and nothing else (a case number however written, or a letter id), or None."""
    cases = case_numbers(q)
    if cases is not None and cases.alone:
        return cases.numbers[0]
    text = q.strip()
    return text[:2].upper() + text[2:].lower() if LETTER_ID.fullmatch(text) else None


# --------------------------------------------------------------------------------------------
# Guideline citations typed in words


_PAGE = re.compile(r"\b(?:pp?|pgs?|pages?)\.?\s*(\d{1,4})(?:\s*[-–]\s*(\d{1,4}))?\b", re.I)
_CHAPTER = re.compile(r"\b(?:ch|chap|chapter)\.?\s*(\d{1,2})\b", re.I)
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_WORD = re.compile(r"[a-z0-9]+")
_ID_PAGE = re.compile(r"^p(\d+)(?:-(\d+))?$")
_LABEL_CHAPTER = re.compile(r"\bch\. (\d+)\b")
# words that name a guideline source: typing one is what makes the words a citation
SOURCE_WORDS = frozenset({"mtus", "odg", "acoem", "cpmtg", "guideline", "guidelines"})
# words a citation is written with that no label needs to hold
_FILLER = frozenset({"guideline", "guidelines", "citation", "cited", "cites", "citing", "section", "sections",
                     "the", "of", "for", "and", "in", "on", "at", "s"})
# other names of a source, as its labels do not say them
_SOURCE_ALIASES = {"ODG": ("official", "disability"), "MTUS": ("california", "ca")}


@dataclass(frozen=True)
class _Known:
    citation_id: str
    words: frozenset[str]
    pages: tuple[int, int] | None
    chapter: int | None
    count: int


@dataclass(frozen=True)
class CitationGuess:
    citation_id: str
    label: str
    rest: str  # the words typed that are not part of the citation
    alternatives: tuple[str, ...]  # other citations the words fit as well

    @property
    def query(self) -> str:
        return f"guideline:{self.citation_id} {self.rest}".strip()

    def explained(self, typed: str) -> str:
        words = f" with “{self.rest}”" if self.rest else ""
        return f"No decision has the words “{typed}”: showing the decisions citing {self.label}{words}."


def _known(citation_id: str, count: int) -> _Known:
    label = citation_label(citation_id)
    components = re.split(r"[/:]", citation_id.lower())
    words = set(_WORD.findall(label.lower().replace("&", " and "))) | {
        w for component in components for w in _WORD.findall(component)}
    words |= set(_SOURCE_ALIASES.get(citation_id.split("/")[0], ()))
    page = _ID_PAGE.match(citation_id.rsplit("/", 1)[-1])
    pages = (int(page.group(1)), int(page.group(2) or page.group(1))) if page else None
    chapter = _LABEL_CHAPTER.search(label)
    return _Known(citation_id, frozenset(words), pages, int(chapter.group(1)) if chapter else None, count)


@lru_cache(maxsize=8)
def _vocabulary(known: tuple[tuple[str, int], ...]) -> tuple[_Known, ...]:
    return tuple(_known(citation_id, count) for citation_id, count in known if count)


def guess_citation(q: str, citations: tuple[tuple[str, int], ...]) -> CitationGuess | None:
    """The citation `q` reads as, among the index's `citations` ((id, decisions citing it), as
    kb.columns.Columns.vocabulary gives them), or None when `q` names no guideline source, page or chapter
    or no citation fits. The words that fit it best win; of those, the one on exactly the page typed (p. 24
    before pp. 24-27), the most general (a part rather than one of its sections), then the most cited."""
    text = q.replace("“", " ").replace("”", " ").replace('"', " ")
    page = _PAGE.search(text)
    chapter = _CHAPTER.search(text)
    rest = _CHAPTER.sub(" ", _PAGE.sub(" ", text))
    typed = [w for w in _WORD.findall(_YEAR.sub(" ", rest.lower().replace("&", " and ")))]
    sources = [w for w in typed if w in SOURCE_WORDS - _FILLER]
    if not (sources or page or chapter or {"guideline", "guidelines"} & set(typed)):
        return None
    wanted_pages = (int(page.group(1)), int(page.group(2) or page.group(1))) if page else None
    best: list[tuple[tuple, _Known, list[str]]] = []
    for known in _vocabulary(citations):
        if wanted_pages and (known.pages is None or known.pages[1] < wanted_pages[0]
                             or known.pages[0] > wanted_pages[1]):
            continue
        if chapter and known.chapter != int(chapter.group(1)):
            continue
        if not set(sources) <= known.words:
            continue
        covered = [w for w in typed if w in known.words or w in _FILLER]
        if not (page or chapter or any(w in known.words and w not in _FILLER for w in typed)):
            continue
        left = [w for w in typed if w not in known.words and w not in _FILLER]
        score = (len(covered), known.pages == wanted_pages, -len(known.words), known.count)
        best.append((score, known, left))
    if not best:
        return None
    best.sort(key=lambda entry: entry[0], reverse=True)
    (score, known, left) = best[0]
    # as good a fit elsewhere (the same page of another part); not a section of the one chosen, which its
    # search finds already
    alternatives = tuple(k.citation_id for s, k, _ in best[1:] if s[0] == score[0]
                         and not k.citation_id.startswith(known.citation_id + "/"))[:3]
    return CitationGuess(known.citation_id, citation_label(known.citation_id), _words_as_typed(q, left),
                         alternatives)


def _words_as_typed(q: str, words: list[str]) -> str:
    """The leftover words, in the order and case the user typed them."""
    wanted = list(words)
    kept = []
    for token in re.findall(r"\S+", q):
        key = "".join(_WORD.findall(token.lower()))
        if key in wanted:
            wanted.remove(key)
            kept.append(token)
    return " ".join(kept)


# --------------------------------------------------------------------------------------------
# Names misspelled


@lru_cache(maxsize=1)
def _drug_names() -> tuple[str, ...]:
    names = {name.casefold() for entry in DRUGS.values() for name in (entry.generic, *entry.brands, *entry.synonyms)}
    return tuple(sorted(names))


@lru_cache(maxsize=8)
def _tag_words(tags: tuple[str, ...]) -> tuple[str, ...]:
    """The words of the tag values ("Physical Medicine & Rehabilitation": physical, medicine, rehabilitation)."""
    return tuple(sorted({w for t in tags for w in re.findall(r"[a-z][a-z-]+", t.casefold())
                         if len(w) >= MIN_SPELLING_CHARS}))


@dataclass(frozen=True)
class Spelling:
    query: str  # the query with the words corrected
    corrections: tuple[tuple[str, str], ...]  # (as typed, corrected)


def spelling(q: str, tags: tuple[str, ...] = ()) -> Spelling | None:
    """`q` with its misspelled drug or tag names corrected, or None when no word looks misspelled. `tags`
    are the index's own tag values (treatments, classes, regions...) to correct towards as well."""
    vocabulary = [*_drug_names(), *_tag_words(tags)]
    known = set(vocabulary)
    corrections = []
    corrected = q
    words = [w for w in dict.fromkeys(re.findall(r"(?<![\w:])[A-Za-z][A-Za-z-]+", q))
             if len(w) >= MIN_SPELLING_CHARS and w.casefold() not in known and w not in ("AND", "OR", "NOT")]
    for word in words[:MAX_SPELLING_WORDS]:
        if resolve_drug(word) is not None:  # a name (or a misspelling) the drug table knows already
            continue
        close = difflib.get_close_matches(word.casefold(), vocabulary, n=1, cutoff=SPELLING_CUTOFF)
        if close:
            corrections.append((word, close[0]))
            corrected = re.sub(rf"(?<![\w:]){re.escape(word)}(?!\w)", close[0], corrected)
    return Spelling(corrected, tuple(corrections)) if corrections else None
