"""Turning raw posting text into clean text and sentences.

Every path into the model (classify, label-csv, evaluate, train) goes through
:func:`posting_text` and :func:`split_sentences`, so training and prediction see
the same input.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from .errors import UserError

__all__ = [
    "EMPTY_AD",
    "read_ad",
    "EmptyTextError",
    "Posting",
    "clean_text",
    "is_section_heading",
    "posting_text",
    "split_sentences",
    "split_title",
]

_TAG = re.compile(r"<[^>]*>")
_BLOCK_TAG = re.compile(
    r"<\s*/?\s*(br|p|div|li|ul|ol|h[1-6]|tr|td|th|section|article|header|footer|table)\b[^>]*>",
    re.IGNORECASE,
)
_SCRIPT = re.compile(r"<\s*(script|style)\b[^>]*>.*?<\s*/\s*\1\s*>", re.IGNORECASE | re.DOTALL)
_INLINE_WS = re.compile(r"[ \t\f\v\u00a0\u200b]+")
_MANY_NEWLINES = re.compile(r"\n\s*\n+")
# A sentence ends at . ! ? followed by space and a capital/digit/bullet, or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9•\-*])|\n+")
_BULLET = re.compile(r"^\s*(?:[-*•·▪●◦]|\d+[.)])\s+")
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
    """Strip HTML, unescape entities, and normalise whitespace, keeping line breaks.

    Example:
        >>> clean_text("<p>Build&nbsp;RAG</p><ul><li>Python</li></ul>")
        'Build RAG\\nPython'
    """
    if "<" in text and ">" in text:
        text = _SCRIPT.sub(" ", text)
        text = _BLOCK_TAG.sub("\n", text)
        text = _TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _INLINE_WS.sub(" ", text)
    lines = (line.strip() for line in text.split("\n"))
    text = "\n".join(line for line in lines)
    return _MANY_NEWLINES.sub("\n", text).strip()


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

    Example:
        >>> split_sentences("We ship LLM features. You will:\\n- build RAG\\n- call APIs")
        ['We ship LLM features.', 'You will:', 'build RAG', 'call APIs']
    """
    parts = _SENTENCE_END.split(text)
    out = []
    for part in parts:
        part = _BULLET.sub("", part).strip()
        if part:
            out.append(part)
    return out


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
