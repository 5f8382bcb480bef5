"""Turning raw posting text into clean text and sentences.

Every path into the model (classify, label-csv, evaluate, train) goes through
:func:`posting_text` and :func:`split_sentences`, so training and prediction see
the same input.
"""

from __future__ import annotations

import html
import re
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .errors import UserError
from .markup import strip_html, strip_markdown, unescape_escaped_html

__all__ = [
    "EMPTY_AD",
    "read_ad",
    "EmptyTextError",
    "InvalidTextError",
    "Posting",
    "clean_text",
    "detect_language",
    "is_english",
    "is_missing",
    "is_section_heading",
    "language_warning",
    "posting_text",
    "split_sentences",
    "split_title",
    "text_check",
    "text_problem",
]

# -- characters -----------------------------------------------------------------------------------
# Removed: zero-width and other invisible format characters, and every control character but
# tab and newline. Line and paragraph separators become newlines, form feed and vertical tab
# spaces. C1 controls (U+0080..U+009F) in a feed are nearly always Windows-1252 bytes decoded as
# Latin-1, so they become the characters Windows-1252 meant (curly quotes, dashes, ...).
_INVISIBLE = "\u00ad\u180e\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff"


def _char_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {c: None for c in range(0x20) if chr(c) not in "\t\n\r"}
    table.update({0x0B: " ", 0x0C: " ", 0x7F: None, 0x2028: "\n", 0x2029: "\n"})
    table.update({ord(c): None for c in _INVISIBLE})
    for c in range(0x80, 0xA0):
        try:
            table[c] = bytes([c]).decode("cp1252")
        except UnicodeDecodeError:
            table[c] = None
    return table


_CHARS = _char_table()
_ALNUM = re.compile(r"[^\W_]")  # a letter or digit, in any script

_INLINE_WS = re.compile(r"[^\S\n]+")  # any whitespace but a newline (tabs, NBSP, en spaces, ...)
_MANY_NEWLINES = re.compile(r"\n\s*\n+")

# -- sentences ------------------------------------------------------------------------------------
# A sentence ends at . ! ? followed by space and a capital/digit/bullet, or at a line break;
# not after an abbreviation ("e.g. Python", "Sr. Engineer", "No. 1") nor inside "3.11".
_SENTENCE_END = re.compile(r"[.!?]\s+(?=[\"'(\[]?[A-Z0-9•\-*])")
_ABBREVIATIONS = frozenset(
    """
    e.g. eg. i.e. ie. etc. vs. v. cf. approx. appr. incl. excl. esp. resp. viz. al. sr. jr.
    dr. mr. mrs. ms. mx. prof. st. ft. inc. ltd. corp. llc. plc. gmbh. dept. div. no.
    nos. nr. vol. fig. ref. est. min. max. avg. yrs. yr. mos. hrs. wk. tel. ext. ph.d. jan. feb.
    mar. apr. jun. jul. aug. sep. sept. oct. nov. dec. b.sc. m.sc. b.eng. m.eng.
    """.split()
)
_INITIALS = re.compile(r"^(?:[A-Za-z]\.)+$")  # "U.S.", "a.m.", "J." (an initial)
_LINES = re.compile(r"\n+")
_BULLET = re.compile(r"^\s*(?:[-*•·▪●◦]|\d+[.)])\s+")

# -- language -------------------------------------------------------------------------------------
_LANG_MIN_LETTERS = 20  # fewer letters than this: too short to tell
_LANG_MIN_CONFIDENCE = 0.5  # a chunk the identifier is less sure of counts for no language
_LANG_CHUNK_CHARS = 100  # short lines are joined into chunks of at least this size
_LANG_MAX_CHARS = 100_000  # only the start of a huge text is read
_LANG_MIN_ENGLISH_SHARE = 1 / 3  # English ads with a French EEO paragraph stay English
_LANG_MIN_WORDS = 30  # the function-word shortcut needs this many words
_LANG_FAST_SHARE = 0.15  # this share of English function words: English, without the identifier
_WORD = re.compile(r"[^\W\d_]+")
_ENGLISH_FUNCTION_WORDS = frozenset(
    "the and of to with for you your our we are is will be on this that as an or have from by at "
    "who what which it its their they can all more about into than".split()
)
_identifier: Any = None
_identifier_lock = threading.Lock()
# Section headings of job ads: a first line like these is not the ad's title.
_HEADING_TEXT = """
    about | about us | about the role | about the job | about the team | about the company
    about the position | about you | who we are | who you are | the team | our team | the role
    the company | the opportunity | the position | overview | role overview | company overview
    position overview | job overview | summary | job summary | position summary | role summary
    description | job description | role description | position description
    company description | introduction | our mission | our story | mission | responsibilities
    key responsibilities | your responsibilities | duties | what you'll do | what you will do
    what you'll be doing | what you will be doing | what we do | what we're looking for
    what we are looking for | what you'll bring | what you bring | requirements
    minimum requirements | qualifications | minimum qualifications | preferred qualifications
    basic qualifications | skills | nice to have | nice to haves | bonus points | benefits
    perks | perks and benefits | benefits and perks | what we offer | why join us | why us
    compensation | salary | location | how to apply | equal opportunity | job details
"""
_HEADINGS = frozenset(" ".join(h.split()) for h in _HEADING_TEXT.replace("\n", "|").split("|"))
_HEADINGS -= {""}


class EmptyTextError(UserError):
    """Raised when a posting has no text left after cleaning."""


class InvalidTextError(EmptyTextError):
    """Some postings of one call cannot be classified; ``positions`` says which, ``reasons`` why.

    Args:
        problems: ``(position, reason)`` of each bad posting, in input order (a position is a
            list position, or an index label of a pandas Series).
        total: postings in the call.
        where: what a position is (``position`` or ``index``).

    Example:
        >>> print(InvalidTextError([(1, "empty text")], total=3))  # doctest: +ELLIPSIS
        1 of 3 texts cannot be classified: position 1 (empty text). ...
    """

    shown = 10
    """positions named in the message; the rest are counted."""

    def __init__(
        self, problems: Sequence[tuple[Any, str]], total: int, where: str = "position"
    ) -> None:
        self.positions = [p for p, _ in problems]
        self.reasons = [r for _, r in problems]
        self.total, self.where = total, where
        named = ", ".join(f"{where} {p!r} ({r})" for p, r in problems[: self.shown])
        more = f", and {len(problems) - self.shown} more" if len(problems) > self.shown else ""
        super().__init__(
            f"{len(problems)} of {total} texts cannot be classified: {named}{more}. Every posting "
            "needs some text after removing HTML and whitespace (or a title that has some); "
            "label_dataframe(df) and label_records(...) label the others and give these rows an "
            "error instead"
        )

    def __reduce__(self) -> tuple[Any, ...]:  # picklable (its __init__ is not the message's)
        return type(self), (list(zip(self.positions, self.reasons)), self.total, self.where)


def is_missing(value: object) -> bool:
    """Whether a cell is missing: None, NaN (``float("nan")``, numpy's) or pandas' NA and NaT.

    Example:
        >>> [is_missing(v) for v in (None, float("nan"), "", "nan", 0, [])]
        [True, True, False, False, False, False]
    """
    if value is None:
        return True
    if isinstance(value, (str, bytes)) or hasattr(value, "__len__"):
        return False
    try:
        return bool(value != value)  # NaN and NaT are the only values unequal to themselves
    except (TypeError, ValueError):  # pandas.NA: its comparisons are NA, whose truth is ambiguous
        return type(value).__name__ == "NAType"


def text_problem(description: object, title: object = None) -> str | None:
    """Why a posting cannot be classified, or None when it can: the one rule of every path in
    (``label-csv``, ``label_dataframe``, ``predict``).

    A missing cell (:func:`is_missing`) is an empty one; a cell that is not a string (a number,
    a list) is an error; a posting needs some text after cleaning in its description or title.

    Example:
        >>> text_problem("Train models."), text_problem("", "ML Engineer")
        (None, None)
        >>> text_problem(None), text_problem("<p> </p>"), text_problem(42)
        ('empty text', 'no text left after removing HTML and whitespace', 'text is not a string (int)')
    """
    return text_check(description, title)[0]


def text_check(description: object, title: object = None) -> tuple[str | None, bool]:
    """:func:`text_problem`, and whether the description itself has text after cleaning (False:
    a posting classified from its title alone), cleaning each cell at most once.

    Example:
        >>> text_check("Train models."), text_check("", "ML Engineer")
        ((None, True), (None, False))
    """
    for what, value in (("text", description), ("title", title)):
        if not is_missing(value) and not isinstance(value, str):
            return f"{what} is not a string ({type(value).__name__})", False
    body = "" if is_missing(description) else str(description)
    head = "" if is_missing(title) else str(title)
    if clean_text(body):
        return None, True
    if clean_text(head):
        return None, False
    if body.strip() or head.strip():
        return "no text left after removing HTML and whitespace", False
    return "empty text", False


@dataclass(frozen=True)
class Posting:
    """One job posting: an optional title and the description text.

    Example:
        >>> Posting(title="ML Engineer", description="Train ranking models.").text
        'ML Engineer\\n\\nTrain ranking models.'
    """

    description: str
    title: str | None = None

    @property
    def text(self) -> str:
        """Title and description joined, as :func:`posting_text` builds it."""
        return posting_text(self.title, self.description)


def clean_text(text: str) -> str:
    """Strip HTML and Markdown, unescape entities, and normalise whitespace, keeping line breaks.

    - HTML: tags of known elements are removed (block elements end a line), comments,
      ``<!DOCTYPE>`` and the bodies of ``<script>``/``<style>`` go whole; a ``<`` that does not
      open a real tag ("latency < 50ms", "a<b", "<Company>") is kept as text. Entity-escaped
      HTML ("&lt;p&gt;...", as some applicant-tracking APIs return it) is unescaped first,
      when at least two escaped tags (or one at the very start) show that it is markup.
    - Markdown: headings, bold/emphasis marks, links (their text is kept), images, inline code
      marks, code fences, horizontal rules and backslash escapes are removed; bullet lines and
      headings stay lines of their own.
    - Characters: NUL and other control characters, zero-width and soft-hyphen characters are
      removed; C1 controls are read as the Windows-1252 characters they almost always are.
    - A text with no letter or digit at all (only emoji, markup or punctuation) becomes ``""``.

    Every step is linear in the length of the text (no regular expression backtracks over it).

    Example:
        >>> clean_text("<p>Build&nbsp;RAG</p><ul><li>Python</li></ul>")
        'Build RAG\\nPython'
        >>> clean_text("&lt;p&gt;Build &lt;strong&gt;RAG&lt;/strong&gt;&lt;/p&gt;")
        'Build RAG'
        >>> clean_text("## About\\n**p99** latency < 50ms, see [docs](https://x.io)")
        'About\\np99 latency < 50ms, see docs'
    """
    text = text.translate(_CHARS)
    if "&" in text:
        text = unescape_escaped_html(text)
    if "<" in text:
        text = strip_html(text)
    if "&" in text:
        text = html.unescape(text).translate(_CHARS)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _INLINE_WS.sub(" ", text)
    text = strip_markdown("\n".join(line.strip() for line in text.split("\n")))
    text = "\n".join(line.strip() for line in text.split("\n"))
    text = _MANY_NEWLINES.sub("\n", text).strip()
    return text if _ALNUM.search(text) else ""


def posting_text(title: str | None, description: str | None) -> str:
    """The one text the model reads: ``title`` + blank line + ``description``, cleaned.

    The title is optional; without it the description alone is used.

    Example:
        >>> posting_text("AI Engineer", "We build <b>RAG</b> apps.")
        'AI Engineer\\n\\nWe build RAG apps.'
        >>> posting_text(None, "We build RAG apps.")
        'We build RAG apps.'
    """
    body = clean_text(description or "")
    head = clean_text(title or "").replace("\n", " ")
    if head and body:
        return f"{head}\n\n{body}"
    return head or body


def is_section_heading(line: str) -> bool:
    """Whether a line is a section heading of an ad ("About Acme", "Requirements:").

    Headings are the common section names of job ads ("About us", "Who we are", "The team",
    "Overview", "Job description", "Responsibilities", "What you'll do", "Benefits", ...),
    any "About ..." line, and any line ending in ':'; case, markdown marks (``#``, ``**``) and
    curly apostrophes are ignored.

    Example:
        >>> is_section_heading("About Acme"), is_section_heading("## What you\u2019ll do")
        (True, True)
        >>> is_section_heading("Senior MLOps Engineer")
        False
    """
    line = line.strip()
    key = line.strip("#*_=~>•·-–—: \t").lower().replace("\u2019", "'")
    key = " ".join(key.split())
    return line.endswith(":") or key in _HEADINGS or key.startswith("about ")


def split_title(text: str) -> tuple[str | None, str]:
    """Split a pasted ad into (title, body) when its first line looks like a title.

    A first line counts as a title when it is short (at most 12 words and 100 characters),
    does not end like a sentence, and is not a section heading (:func:`is_section_heading`:
    "About Acme", "Responsibilities", ...): read as a title, a heading would outweigh the ad.

    Example:
        >>> split_title("Senior MLOps Engineer\\nYou will run our model serving stack.")
        ('Senior MLOps Engineer', 'You will run our model serving stack.')
        >>> split_title("We are hiring. You will run our stack.")
        (None, 'We are hiring. You will run our stack.')
        >>> split_title("About Acme\\nAcme builds frontier AI. We need a payroll specialist.")[0] is None
        True
    """
    text = text.strip()
    first, sep, rest = text.partition("\n")
    first = first.strip()
    looks_like_title = (
        sep
        and rest.strip()
        and 0 < len(first) <= 100
        and len(first.split()) <= 12
        and not first.endswith((".", "!", "?", ":", ";", ","))
        and not is_section_heading(first)
    )
    if looks_like_title:
        return first, rest.strip()
    return None, text


def split_sentences(text: str) -> list[str]:
    """Split cleaned text into sentences and bullet items (non-empty, stripped).

    A line break always ends a sentence; within a line a sentence ends at ``.``, ``!`` or ``?``
    followed by a space and a capital, digit or bullet, but not after a common abbreviation
    ("e.g.", "i.e.", "U.S.", "Sr.", "etc.", "vs.", "Inc.", "No.", ...) or an initial.

    Example:
        >>> split_sentences("We ship LLM features. You will:\\n- build RAG\\n- call APIs")
        ['We ship LLM features.', 'You will:', 'build RAG', 'call APIs']
        >>> split_sentences("Use e.g. Python 3.11 at Acme Inc. Apply now.")
        ['Use e.g. Python 3.11 at Acme Inc. Apply now.']
    """
    out = []
    for line in _LINES.split(text):
        start = 0
        for m in _SENTENCE_END.finditer(line):
            if line[m.start()] == "." and _ends_with_abbreviation(line, m.start()):
                continue
            _add_sentence(out, line[start : m.start() + 1])
            start = m.end()
        _add_sentence(out, line[start:])
    return out


def _add_sentence(out: list[str], part: str) -> None:
    part = _BULLET.sub("", part).strip()
    if part:
        out.append(part)


def _ends_with_abbreviation(line: str, dot: int) -> bool:
    """Whether the word that ends at ``line[dot]`` (a period) is an abbreviation or initial."""
    seg = line[max(0, dot - 15) : dot + 1]
    words = seg.split()
    if not words or (len(words[-1]) == len(seg) and dot >= 15):
        return False  # a word longer than any abbreviation
    word = words[-1].lstrip("([{\"'\u201c\u2018\u00ab")
    return word.lower() in _ABBREVIATIONS or bool(_INITIALS.match(word))


# -- language -------------------------------------------------------------------------------------
def detect_language(text: str) -> str | None:
    """The language most of ``text`` is written in (ISO 639-1 code), or None if it is too short.

    The text is cleaned (:func:`clean_text`) and cut at line breaks into chunks (a line, or
    short lines joined to at least 100 characters), so that an EEO paragraph in another
    language is judged apart from the ad; each chunk is identified with py3langid (loaded on
    the first call, about half a second) and the language with the most letters wins. Chunks the identifier is unsure
    of (a list of tool names, a one-line title) count for no language, so a text with fewer
    than 20 letters, or only such chunks, gives None.

    Example:
        >>> detect_language("Wir suchen eine Ingenieurin für maschinelles Lernen in Berlin.")
        'de'
        >>> detect_language("ML Engineer") is None
        True
    """
    letters = _language_letters(text)
    return letters.most_common(1)[0][0] if letters else None


def is_english(text: str) -> bool:
    """Whether ``text`` may be read as English: it is, at least a third of it is, or it is too
    short to tell (:func:`detect_language`). An English ad with a French EEO paragraph, or a
    bilingual English/French ad, is English.

    Example:
        >>> is_english("Nous recrutons une ingénieure en apprentissage automatique à Lyon.")
        False
        >>> is_english("RAG, LLM, PyTorch")
        True
    """
    return language_warning(text) is None


def language_warning(text: str) -> str | None:
    """``"not English (xx)"`` for a text that :func:`is_english` rejects, else None.

    Example:
        >>> language_warning("Wir suchen eine Ingenieurin für maschinelles Lernen in Berlin.")
        'not English (de)'
    """
    if _plainly_english(text):  # most ads: no need to load the identifier (half a second)
        return None
    letters = _language_letters(text)
    if not letters:
        return None
    if letters["en"] >= _LANG_MIN_ENGLISH_SHARE * sum(letters.values()):
        return None
    return f"not English ({letters.most_common(1)[0][0]})"


def _plainly_english(text: str) -> bool:
    """Whether English function words make up so much of ``text`` that it is mostly English.

    In English prose these words are about a third of all words; a text where they are at
    least 0.15 is mostly English (measured on 11,953 real postings: the shortcut answers for
    99.7% of them, and never where the identifier warns).
    """
    words = _WORD.findall(text[:_LANG_MAX_CHARS].lower())
    if len(words) < _LANG_MIN_WORDS:
        return False
    return sum(w in _ENGLISH_FUNCTION_WORDS for w in words) >= _LANG_FAST_SHARE * len(words)


def _language_letters(text: str) -> Counter[str]:
    """Letters per identified language, over chunks of the cleaned text."""
    text = clean_text(text[: 2 * _LANG_MAX_CHARS])[:_LANG_MAX_CHARS]
    letters: Counter[str] = Counter()
    if sum(c.isalpha() for c in text) < _LANG_MIN_LETTERS:
        return letters
    identifier = _language_identifier()
    for chunk in _chunks(text):
        n = sum(c.isalpha() for c in chunk)
        if n < _LANG_MIN_LETTERS:
            continue
        lang, confidence = identifier.classify(chunk)
        if confidence >= _LANG_MIN_CONFIDENCE:
            letters[lang] += n
    return letters


def _chunks(text: str) -> list[str]:
    chunks, current, size = [], [], 0
    for line in text.split("\n"):
        current.append(line)
        size += len(line) + 1
        if size >= _LANG_CHUNK_CHARS:
            chunks.append("\n".join(current))
            current, size = [], 0
    if current:
        chunks.append("\n".join(current))
    return chunks


def _language_identifier() -> Any:
    """py3langid's identifier, loaded once (imported here: ``import role_classifier`` stays
    light), with probabilities and restricted to languages that have an ISO 639-1 code."""
    global _identifier
    with _identifier_lock:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            identifier.set_languages([code for code in identifier.labels if len(code) == 2])
            _identifier = identifier
    return _identifier


EMPTY_AD = "the ad is empty (nothing left after removing HTML and whitespace)"


def read_ad(text: str, title: str | None) -> tuple[Posting, str | None]:
    """The posting a pasted ad is read as, and its title: the one place that does it
    (``role-classifier classify``, ``POST /v1/classify``, ``/v1/classify-batch``, the page).

    HTML is stripped; without a title, a short first line is taken as the title
    (:func:`~role_classifier.text.split_title`) and the rest is the description.

    Args:
        text: the ad as pasted, plain text or HTML.
        title: its title, or None to guess one from the first line.

    Returns:
        The posting to classify, and its title (given, guessed, or None).

    Raises:
        EmptyTextError: nothing is left after removing HTML and whitespace.

    Example:
        >>> posting, title = read_ad("ML Engineer\\n<p>You will ship models.</p>", None)
        >>> title, posting.description
        ('ML Engineer', 'You will ship models.')
    """
    ad = clean_text(text)
    if not ad:
        raise EmptyTextError(EMPTY_AD)
    if title is None:
        title, body = split_title(ad)
    else:
        body = ad
    return Posting(description=body, title=title), title
