from __future__ import annotations

import pytest

from role_classifier.text import (
    Posting,
    clean_text,
    is_section_heading,
    posting_text,
    split_sentences,
    split_title,
)


def test_clean_text_strips_html_and_entities() -> None:
    assert clean_text("<p>Build&nbsp;RAG &amp; agents</p><ul><li>Python</li></ul>") == (
        "Build RAG & agents\nPython"
    )


def test_clean_text_drops_script_and_style() -> None:
    assert clean_text("<style>p{color:red}</style><p>Hi</p><script>x()</script>") == "Hi"


def test_clean_text_html_only_is_empty() -> None:
    assert clean_text("<div><br></div>  \n\t") == ""


def test_posting_text_is_title_then_description() -> None:
    assert posting_text("AI Engineer", "We build RAG.") == "AI Engineer\n\nWe build RAG."
    assert posting_text(None, "We build RAG.") == "We build RAG."
    assert posting_text("AI Engineer", "") == "AI Engineer"
    assert Posting("We build RAG.", "AI Engineer").text == posting_text(
        "AI Engineer", "We build RAG."
    )


def test_split_title_only_when_first_line_looks_like_one() -> None:
    assert split_title("Senior MLOps Engineer\nRun serving.") == (
        "Senior MLOps Engineer",
        "Run serving.",
    )
    assert split_title("We are hiring.\nRun serving.") == (None, "We are hiring.\nRun serving.")
    assert split_title("Just one line") == (None, "Just one line")


@pytest.mark.parametrize(
    "heading",
    [
        "About Acme",
        "About the role",
        "About us",
        "ABOUT US",
        "Who we are",
        "The team",
        "Overview",
        "Job description",
        "Responsibilities",
        "What you'll do",
        "What you\u2019ll do",
        "## Requirements",
        "**Benefits**",
        "Our stack:",  # not a known heading, but it ends in ':'
    ],
)
def test_section_headings_are_not_titles(heading: str) -> None:
    ad = f"{heading}\nAcme builds frontier AI models. We are hiring a payroll specialist."
    assert is_section_heading(heading)
    assert split_title(ad) == (None, ad)


@pytest.mark.parametrize(
    "title", ["Senior MLOps Engineer", "Payroll Specialist", "Head of Product", "Staff Engineer"]
)
def test_titles_are_not_headings(title: str) -> None:
    assert not is_section_heading(title)
    assert split_title(f"{title}\nRun payroll.")[0] == title


def test_split_sentences_handles_bullets_and_periods() -> None:
    text = "We ship LLM features. You will:\n- build RAG\n• call APIs\n2) write tests"
    assert split_sentences(text) == [
        "We ship LLM features.",
        "You will:",
        "build RAG",
        "call APIs",
        "write tests",
    ]
