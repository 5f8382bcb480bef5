from __future__ import annotations

from role_classifier.text import Posting, clean_text, posting_text, split_sentences, split_title


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


def test_split_sentences_handles_bullets_and_periods() -> None:
    text = "We ship LLM features. You will:\n- build RAG\n• call APIs\n2) write tests"
    assert split_sentences(text) == [
        "We ship LLM features.",
        "You will:",
        "build RAG",
        "call APIs",
        "write tests",
    ]
