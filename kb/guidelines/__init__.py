"""Canonical guideline citations: what each side of an IMR decision relied on.

Two pure entry points, text in and `Citation`s out, each citation keeping its span in the text given:

* `parse_guideline_line(text)` reads one "Claims Administrator guideline:" or "MAXIMUS guideline:" line
  ("Decision based on MTUS Low Back Complaints 2004, Section(s): Special Studies. Decision based on
  Non-MTUS Citation Official Disability Guidelines (ODG), Low Back.") and always returns at least one
  citation: "NONE" when nothing was cited, an "Other" citation built from the words when they name
  nothing known.
* `citation_label(id)`, `citation_source(id)`, `citation_part_id(id)`, `citation_ancestry(id)` and
  `citation_sort_key(id)` let the site show and order a facet value from the id alone;
  `GUIDELINE_PARTS` (code -> `GuidelinePart`) feeds its guideline index.
* `find_citations(text)` finds the clear guideline mentions in rationale prose ("According to the
  California MTUS 2016 Chronic Pain Guidelines, page 24, ..."), skipping mentions that only say a
  guideline is silent or does not apply.

One citation per countable thing, with a stable id usable as a facet value:

    NONE                          no medical evidence cited
    MTUS                          the MTUS, no part named
    MTUS/<CODE>                   an MTUS part: MTUS/CPMTG, MTUS/LBC (ACOEM 2004 ch. 12), MTUS/OTG
    MTUS/<CODE>/p<page>           a page or page range: MTUS/CPMTG/p24, MTUS/CPMTG/p63-65
    MTUS/<CODE>/s:<section>       a section or topic: MTUS/NUBC/s:special-studies, MTUS/OTG/s:3.3.9,
                                  an ACOEM table: MTUS/LBC/s:table-12-8
    ODG, ODG/<chapter>            the Official Disability Guidelines, or one chapter: ODG/low-back
    ACOEM, ACOEM/<chapter>[/p..]  ACOEM cited outside the MTUS: ACOEM/low-back-disorders/p607
    OTHER/<source>                anything else: OTHER/uptodate, OTHER/cms, OTHER/<web domain>

Names are matched by their words (case, spacing, hyphens and punctuation ignored; "&" reads "and"), so
the text's line breaks and odd spaces never change a result. Every scan moves forward through the
text's words once, with bounded look-arounds, so the work stays linear in the text's length.

Speed: most words of a rationale start no name, so prose is first searched (one regex, in C) for the
words that can start one, and split into words only in windows around them; a guideline line's
result is kept for the next letter citing it in the same words.

All reference data (MTUS parts and their sections, ODG and ACOEM chapters, other sources and the
phrase patterns) comes from data/guidelines.json, loaded once into UPPER_CASE constants.

The package, by job: `reference` (the data), `words` (matching names by their words), `names` (every way
a guideline is written, MTUS parts with their editions), `patterns` (the derived regexes), `citations`
(building a Citation), `lines` (guideline lines), `sources` (ODG, ACOEM and other sources in a line),
`prose` (rationale prose), `ids` (labels and structure of an id).
"""

from kb.guidelines.ids import (
    citation_ancestry,
    citation_editions,
    citation_label,
    citation_part_id,
    citation_sort_key,
    citation_source,
)
from kb.guidelines.lines import parse_guideline_line
from kb.guidelines.names import NAME_INDEXES
from kb.guidelines.prose import find_citations
from kb.guidelines.reference import (
    ACOEM_CHAPTERS,
    DATA_PATH,
    EXAMPLES,
    GUIDELINE_DATA,
    GUIDELINE_PARTS,
    NONE_ID,
    NONE_LABEL,
    ODG_CHAPTERS,
    OTHER_SOURCES,
    PATTERNS,
    SOURCES,
    GuidelineChapter,
    GuidelinePart,
    GuidelineSection,
    OtherSource,
)

__all__ = [
    "ACOEM_CHAPTERS", "DATA_PATH", "EXAMPLES", "GUIDELINE_DATA", "GUIDELINE_PARTS", "NAME_INDEXES", "NONE_ID",
    "NONE_LABEL", "ODG_CHAPTERS", "OTHER_SOURCES", "PATTERNS", "SOURCES", "GuidelineChapter", "GuidelinePart",
    "GuidelineSection", "OtherSource", "citation_ancestry", "citation_editions", "citation_label", "citation_part_id",
    "citation_sort_key", "citation_source", "find_citations", "parse_guideline_line",
]
