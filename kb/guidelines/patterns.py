"""The regular expressions derived from the data's patterns, and the filler words scans skip.
"""

from __future__ import annotations

import re

from kb.guidelines.reference import GUIDELINE_DATA, PATTERNS

# --------------------------------------------------------------------------------------------
# Patterns derived from the data's regexes


def _pattern(name: str) -> str:
    return GUIDELINE_DATA["patterns"][name]["regex"]


_ANCHOR_NAMES = ("mtus_decision", "non_mtus_citation", "other_guidelines", "no_evidence", "outside_mtus",
                 "decision_based_on")
# Every fixed phrase starts with one of these words; trying the phrases only there keeps the scan fast
# (and one search, all in C, finds the next phrase).
_ANCHOR_START = r"\b(?=(?:decision|non|and|other|the|did|based)\b)"
_ANCHOR = re.compile(_ANCHOR_START + "(?:" + "|".join(f"(?P<{name}>{_pattern(name)})" for name in _ANCHOR_NAMES) + ")",
                     re.IGNORECASE)
_BODY_MARKER = re.compile(f"(?P<sections>{_pattern('sections_marker')})|(?P<pages>{_pattern('pages_marker')})",
                          re.IGNORECASE)
_PAGE_LIST = re.compile(r"\s*(?:" + _pattern("page_list") + ")")
_PAGE_NUMBERS = re.compile(r"\d+")
_YEAR_AFTER = PATTERNS["year"]
_FREE_YEAR = re.compile(r"(?<![/\d.])((?:19|20)\d\d)(?![/\d])")
_YEAR_BEFORE = re.compile(r"((?:19|20)\d\d)\s+(?:the\s+)?$")
_DATED = PATTERNS["dated_edition"]
_REGULATION_AFTER = re.compile(r"\s*(?:MTUS\b\s*)?(?:[-\u2013]\s*)?" + _pattern("regulation"), re.IGNORECASE)
_MTUS_AFTER = re.compile(r"\s*(?:[-\u2013]\s*)?MTUS\b")
_CHAPTER_AFTER = re.compile(r"[\s,/]*(?:ACOEM[\s,]*)?Chapter\s*(\d{1,2})\b", re.IGNORECASE)
_CHAPTER_IN = re.compile(r"\bChapter\s*(\d{1,2})\b", re.IGNORECASE)
_ACOEM_AFTER = re.compile(r"\s*(?:/\s*)?ACOEM\b", re.IGNORECASE)
_GUIDELINES_AFTER = re.compile(r"\s*(?:treatment\s+)?guidelines?\b(?:\s+in\s+ACOEM\b)?", re.IGNORECASE)
_CHAPTER_WORD_AFTER = re.compile(r"[\s)]*(?:chapter|section|guidelines?|complaints)\b", re.IGNORECASE)
_CHAPTER_WORD_AT_END = re.compile(r"(?:chapter|section|guidelines?)\W*$", re.IGNORECASE)
_MTUS_SLASH_AFTER = re.compile(r"\s*/\s*(?:CA\s+|California\s+)?MTUS\b", re.IGNORECASE)
_ITEM_SEPARATOR = re.compile(r"\s*,\s*")
_TABLE = re.compile(r"\s*" + _pattern("table"), re.IGNORECASE)
_PROSE_PAGE = re.compile(r"\s*" + _pattern("prose_page"), re.IGNORECASE)
_PROSE_PAGE_ANYWHERE = re.compile(r"(?<![\w.])" + _pattern("prose_page"), re.IGNORECASE)
_TABLE_ANYWHERE = PATTERNS["table"]
# What may follow "MTUS" in prose, and a guideline's name before its list: one match each, groups optional.
_MTUS_TRAILER = re.compile(
    f"(?P<acoem>{_ACOEM_AFTER.pattern})?(?P<year>{_YEAR_AFTER.pattern})?"
    f"(?P<guidelines>{_GUIDELINES_AFTER.pattern})?(?P<chapter>{_CHAPTER_AFTER.pattern})?",
    re.IGNORECASE,
)
_TAIL_HEAD = re.compile(
    f"(?P<dated>{_DATED.pattern})?(?P<regulation>{_REGULATION_AFTER.pattern})?(?P<dated2>{_DATED.pattern})?"
    f"(?P<mtus>{_MTUS_AFTER.pattern})?",
    re.IGNORECASE,
)
_YEAR_IN = re.compile(r"(?:19|20)\d\d")
_REGULATION_IN = re.compile(r"9792\.\d{2}(?:\.\d{1,2})?")
_NOT_CITED_BEFORE = PATTERNS["not_cited_before"]
_NOT_CITED_AFTER = PATTERNS["not_cited_after"]
_PAGE_BEFORE = PATTERNS["page_before"]
_ODG_BEFORE = re.compile(r"(?:\bODG|Official\s+Disability\s+Guidelines?(?:\s*\(ODG\))?)[\s,]*$", re.IGNORECASE)
_NUMBERED_SECTION = re.compile(r"(?:^|(?<=[,;]))\s*(\d{1,2}(?:\.\d{1,2}){0,4})\.?\s+(?=[A-Za-z])")
_SEPARATOR_OR_BRACKET = re.compile(r"[,;()\[\]]")
_GAP = re.compile(r"[\s,:;/()\[\]\-\u2013\u2014\"'.]*")
_SENTENCE_BREAK = re.compile(r"[.;:]\s|[;:]")
_GLOSS = re.compile(r"\s*\([^()]{0,80}\)")

_LOOK_BEHIND = 60  # characters examined before a mention
_LOOK_AHEAD = 160  # characters examined after a mention for "does not address"

# Words that may stand between a part's line opening and its name without making it a section.
_OPENING_FILLER = {"acoem", "the", "ca", "california", "guidelines", "guideline", "mtus"}
# Words that may stand between a source's name and its chapter.
_CHAPTER_FILLER = {"guidelines", "guideline", "the", "odg", "chapter", "on", "s", "practice", "in"}
# Words that on their own name no source.
_NO_SOURCE = {"and", "the", "of", "guidelines", "guideline", "citation", "decision", "based", "on", "per", "see",
              "other", "medical", "treatment", "mtus", "non", "also", "with", "in", "a"}
