from __future__ import annotations

import pytest

from role_classifier.text import (
    EmptyTextError,
    Posting,
    clean_text,
    detect_language,
    is_english,
    is_section_heading,
    language_warning,
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


# -- feeds: entity-escaped HTML ---------------------------------------------------------------------
RAW_AD = "<p>Build <strong>RAG</strong> systems &amp; agents</p><ul><li>Python</li><li>Go</li></ul>"


def test_entity_escaped_html_cleans_like_raw_html() -> None:
    escaped = "&lt;p&gt;Build &lt;strong&gt;RAG&lt;/strong&gt; systems&lt;/p&gt;"
    assert clean_text(escaped) == clean_text("<p>Build <strong>RAG</strong> systems</p>")
    assert clean_text(escaped) == "Build RAG systems"
    # the whole ad, escaped once (as applicant-tracking APIs return it) and twice
    once = RAW_AD.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    twice = once.replace("&", "&amp;")
    assert clean_text(once) == clean_text(twice) == clean_text(RAW_AD)
    assert clean_text(RAW_AD) == "Build RAG systems & agents\nPython\nGo"
    # numeric escapes
    assert clean_text("&#60;p&#62;Build &#x3C;b&#x3E;RAG&#x3C;/b&#x3E;&#60;/p&#62;") == "Build RAG"


def test_mixed_raw_and_escaped_html() -> None:
    mixed = "<div><p>Build &lt;strong&gt;RAG&lt;/strong&gt; systems</p>&lt;ul&gt;&lt;li&gt;Python"
    assert clean_text(mixed + "&lt;/li&gt;&lt;/ul&gt;</div>") == "Build RAG systems\nPython"


def test_escaped_lt_in_prose_stays_text() -> None:
    assert clean_text("Latency &lt; 50ms &amp; &gt; 1k QPS") == "Latency < 50ms & > 1k QPS"
    assert clean_text("Know List&lt;T&gt; and Map&lt;K, V&gt;") == "Know List<T> and Map<K, V>"
    # one escaped tag mid-prose is a literal, not markup
    assert clean_text("We use the &lt;canvas&gt; element.") == "We use the <canvas> element."
    # an escaped script quoted in an ad is text, not markup (nor a script body to drop)
    assert clean_text("Try &lt;script&gt;alert(1)&lt;/script&gt; here") == (
        "Try <script>alert(1)</script> here"
    )
    # inside escaped HTML, an escaped '<' of the prose (escaped twice) is still a '<'
    assert (
        clean_text("&lt;p&gt;p99 &amp;lt; 50ms&lt;/p&gt;&lt;p&gt;Go&lt;/p&gt;") == "p99 < 50ms\nGo"
    )


# -- feeds: '<' and '>' that are not tags -----------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "latency < 50ms and > 1k QPS",
        "a<b",
        "x > y",
        "if a<b and c>d then swap",
        "Team size <10 people, >5 years of Python",
        "Salary: <$100k",
        "Join <Company> as our <Role Title>",
        "Mail Jo <jo@example.com>",
        "unbalanced < at the end <",
        "<!-- a comment that never closes",
    ],
)
def test_angle_brackets_in_plain_text_are_kept(text: str) -> None:
    assert clean_text(text) == text
    assert clean_text(f"<p>{text}</p>") == text


def test_only_real_tags_are_removed() -> None:
    assert clean_text("one<br/>two<br />three<BR>four") == "one\ntwo\nthree\nfour"
    assert clean_text('<a href="https://x.io/?a=1&amp;b=2" title="x>y">the link</a> here') == (
        "the link here"
    )
    assert clean_text("<a href=https://x.io/jobs>apply</a> now") == "apply now"
    assert clean_text("<td nowrap>cell</td><input disabled>") == "cell"
    assert clean_text("<p class=MsoNormal>Word<o:p></o:p> text</p>") == "Word text"
    assert clean_text("<![CDATA[<p>From a feed</p>]]>") == "From a feed"


def test_comments_doctype_script_and_style_are_removed_whole() -> None:
    doc = (
        "<!DOCTYPE html><?xml version='1.0'?><html><head><style type='text/css'>p > a {x: 1}"
        "</style><script>if (a < b && c > d) { run() }</script></head><body>"
        "<!-- tracking: <p>hidden</p> --><!--[if mso]><p>Outlook</p><![endif]-->"
        "<p>Visible text</p><SCRIPT src='x.js'></SCRIPT></body></html>"
    )
    assert clean_text(doc) == "Visible text"
    assert clean_text("start <script> never closed") == "start never closed"


# -- sentences --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "sentence",
    [
        "Use a vector store, e.g. Qdrant or pgvector, for retrieval.",
        "Own the eval harness, i.e. Datasets, metrics and dashboards.",
        "Work from anywhere in the U.S. Remote roles pay the same.",
        "Report to our Sr. Director of AI.",
        "Mentor Jr. Engineers on the team.",
        "Ship agents, tools, evals, etc. Nothing is off limits.",
        "Compare RAG vs. Fine-tuning for each use case.",
        "Join Acme Inc. The leader in claims AI.",
        "Work with Dr. Lee on robustness research.",
        "The team has approx. 12 engineers.",
        "We are the No. 1 insurer in Ohio.",
        "Write Python 3.11 and ship v2.0.1 of the SDK.",
        "Hold a Ph.D. In machine learning or a related field.",
        "Start in Jan. 2026 at 9 a.m. Daily stand-ups follow.",
    ],
)
def test_sentences_do_not_break_after_abbreviations_or_in_versions(sentence: str) -> None:
    assert split_sentences(sentence) == [sentence]
    assert split_sentences(f"We are hiring. {sentence} Apply now!") == [
        "We are hiring.",
        sentence,
        "Apply now!",
    ]


def test_sentences_still_break_at_ordinary_periods() -> None:
    assert split_sentences("We use Python. Go is a plus. 3 days in office? Yes! Remote.") == [
        "We use Python.",
        "Go is a plus.",
        "3 days in office?",
        "Yes!",
        "Remote.",
    ]


# -- Markdown ---------------------------------------------------------------------------------------
MARKDOWN_AD = """# Senior ML Engineer

## About
We build **retrieval** systems for __claims__ handlers, *fast*.
Read [our blog](https://acme.example/blog "Blog") ![logo](https://acme.example/logo.png)

---

### What you'll do
- Train ranking models
* Run A/B tests
- Keep p99 \\*under\\* 50ms \\- always

***
```python
def score(**kwargs): ...
```
Use `pytest` daily."""


def test_markdown_reads_as_plain_text() -> None:
    assert clean_text(MARKDOWN_AD) == (
        "Senior ML Engineer\n"
        "About\n"
        "We build retrieval systems for claims handlers, fast.\n"
        "Read our blog\n"
        "What you'll do\n"
        "- Train ranking models\n"
        "* Run A/B tests\n"
        "- Keep p99 *under* 50ms - always\n"
        "def score(**kwargs): ...\n"
        "Use pytest daily."
    )


def test_markdown_bullets_and_headings_stay_separate_lines() -> None:
    assert split_sentences(clean_text(MARKDOWN_AD))[:7] == [
        "Senior ML Engineer",
        "About",
        "We build retrieval systems for claims handlers, fast.",
        "Read our blog",
        "What you'll do",
        "Train ranking models",
        "Run A/B tests",
    ]
    assert split_title(clean_text(MARKDOWN_AD))[0] == "Senior ML Engineer"
    assert split_title(clean_text("## About us\nAcme builds AI. We hire.")) == (
        None,
        "About us\nAcme builds AI. We hire.",
    )


def test_markdown_lookalikes_in_prose_are_kept() -> None:
    for text in [
        "5 * 3 * 2 = 30",
        "snake__case__name and f(*args, **kwargs)",
        "#hiring #AI",
        "Rates: 2*x + y",
        "[draft] see (notes)",
    ]:
        assert clean_text(text) == text


def test_html_title_is_guessed_from_the_first_block() -> None:
    ad = "<h1>Senior MLOps Engineer</h1><p>You will run our model serving stack.</p>"
    assert split_title(clean_text(ad)) == (
        "Senior MLOps Engineer",
        "You will run our model serving stack.",
    )


# -- characters, huge inputs, empty texts -----------------------------------------------------------
def test_nul_zero_width_and_control_characters_are_removed() -> None:
    text = "\ufeffBuild\x00 R\u200bA\u200cG\u200d sys\u2060tems\x07\x1b, to\u00adday\x7f"
    assert clean_text(text) == "Build RAG systems, today"
    assert clean_text("line one\u2028line two\fthree\vfour") == "line one\nline two three four"
    # Windows-1252 bytes read as Latin-1: the curly quote and dash they meant
    assert clean_text("We\x92re hiring \x96 now") == "We\u2019re hiring \u2013 now"


@pytest.mark.parametrize(
    "make",
    [
        # a 2 MB one-line HTML ad
        lambda n: "<p>We build <b>RAG</b> systems &amp; agents, latency &lt; 50ms.</p>" * (n // 64),
        # quadratic for `<[^>]*>` (each '<' scans to the end) and for a lazy script regex
        lambda n: "x > y " + "a < b " * (n // 6),
        lambda n: "<script>" * (n // 8) + "text",
        lambda n: "<!--" * (n // 4) + "text",
        lambda n: '<a title="' * (n // 10) + "text",
        lambda n: "**a " * (n // 4),
        lambda n: "[a](" * (n // 4),
        lambda n: "&lt;p " * (n // 6),
        lambda n: "e.g. X " * (n // 7),
    ],
)
def test_huge_one_line_inputs_are_cleaned_in_linear_time(make) -> None:
    text = make(2_000_000)
    out = clean_text(text)  # quadratic work on 2 MB would not finish within any test timeout
    assert split_sentences(out) is not None
    assert "<" not in text[:70] or not out.startswith("<p>")


def test_huge_html_ad_gives_sensible_text() -> None:
    out = clean_text("<p>We build <b>RAG</b> systems &amp; agents.</p>" * 45_000)  # ~2 MB
    assert out.split("\n")[:2] == ["We build RAG systems & agents."] * 2
    assert out.count("\n") == 45_000 - 1 and "<" not in out


@pytest.mark.parametrize(
    "text", ["\U0001f680", "\U0001f680\u200d\U0001f525 \u2728", "<div><br></div>", "<p>---</p>"]
)
def test_emoji_or_markup_only_posting_is_empty(text: str, tiny_zero_shot) -> None:
    assert clean_text(text) == ""
    assert posting_text(None, text) == "" and posting_text("", text) == ""
    assert posting_text("ML Engineer", text) == "ML Engineer"
    with pytest.raises(EmptyTextError):  # where the model reads it
        tiny_zero_shot.predict([text])


# -- language ---------------------------------------------------------------------------------------
EN_AD = """Senior Machine Learning Engineer
We are a small team building retrieval-augmented assistants for insurance claims handlers.
You will design evaluation harnesses, fine-tune open-weight models, and ship features that
thousands of adjusters use every day. You will work closely with product managers and with
the people who answer the phones, so you understand what good looks like before you train.
What you'll do:
- Own the ranking and retrieval pipeline end to end, from chunking to reranking.
- Write clear design documents and review code with care.
- Monitor latency and cost in production and fix what drifts.
What we're looking for:
- Four or more years writing Python in production.
- Experience with PyTorch, vector databases and offline evaluation.
We offer a hybrid schedule, a learning budget, and a pension plan with a generous match."""

FR_EEO = """Notre engagement en matière de diversité : nous sommes un employeur qui souscrit au
principe de l'équité en emploi. Nous encourageons les candidatures des femmes, des Autochtones,
des personnes handicapées et des membres des minorités visibles. Des mesures d'adaptation sont
offertes sur demande à toutes les étapes du processus de recrutement."""

ADS_BY_LANGUAGE = {
    "de": "Wir suchen eine MLOps-Ingenieurin, die unsere Plattform für den Modellbetrieb auf "
    "Kubernetes betreut. Du verantwortest Auslieferung, Überwachung und Rufbereitschaft.",
    "fr": "Nous recrutons un ingénieur MLOps pour faire fonctionner notre plateforme de service "
    "des modèles sur Kubernetes. Vous serez responsable des déploiements et de la supervision.",
    "es": "Buscamos una ingeniera de MLOps para operar nuestra plataforma de servicio de modelos "
    "en Kubernetes. Serás responsable de los despliegues y de la monitorización.",
    "pt": "Estamos contratando um engenheiro de MLOps para operar nossa plataforma de modelos em "
    "Kubernetes. Você será responsável pelas implantações e pelo monitoramento.",
    "nl": "Wij zoeken een MLOps-engineer die ons platform voor het draaien van modellen op "
    "Kubernetes beheert. Jij bent verantwoordelijk voor uitrol en monitoring.",
    "en": "We are hiring an MLOps engineer to run our model serving platform on Kubernetes. "
    "You will own deployments, monitoring and the on-call rotation.",
}


@pytest.mark.parametrize("lang", sorted(ADS_BY_LANGUAGE))
def test_detect_language_of_ads(lang: str) -> None:
    ad = ADS_BY_LANGUAGE[lang]
    assert detect_language(ad) == lang
    assert detect_language(f"<p>{ad}</p>") == lang
    assert is_english(ad) == (lang == "en")
    assert language_warning(ad) == (None if lang == "en" else f"not English ({lang})")


def test_english_ad_with_french_eeo_paragraph_stays_english() -> None:
    assert detect_language(EN_AD) == "en"
    assert detect_language(EN_AD + "\n\n" + FR_EEO) == "en"
    assert is_english(EN_AD + "\n\n" + FR_EEO) and language_warning(EN_AD + "\n" + FR_EEO) is None
    # a bilingual ad whose French half is the longer one is still readable as English
    bilingual = EN_AD + "\n" + ADS_BY_LANGUAGE["fr"] + "\n" + FR_EEO
    assert is_english(bilingual)
    assert not is_english(ADS_BY_LANGUAGE["fr"] + "\n" + FR_EEO)


@pytest.mark.parametrize(
    "text", ["", "ML Engineer", "\U0001f680", "Python, PyTorch, JAX, CUDA, Triton", "<p></p>"]
)
def test_detect_language_is_none_when_too_short_to_tell(text: str) -> None:
    assert detect_language(text) is None
    assert is_english(text) and language_warning(text) is None


def test_importing_role_classifier_does_not_load_the_language_model() -> None:
    import subprocess
    import sys

    code = "import sys, role_classifier.text; print('py3langid' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_plainly_english_ad_is_judged_without_loading_the_identifier(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from role_classifier import text

    monkeypatch.setattr(text, "_identifier", None)
    ad = (
        "We are looking for an engineer who will own the retrieval pipeline of our assistant. "
        "You will work with the product team on evaluation, and you will ship features that "
        "are used by thousands of customers every day. Experience with Python is a plus."
    )
    assert text.language_warning(ad) is None
    assert text._identifier is None  # the function-word shortcut answered


def test_a_german_ad_with_an_english_equal_opportunity_line_still_warns() -> None:
    from role_classifier.text import language_warning

    ad = (
        "Wir suchen eine erfahrene Ingenieurin für maschinelles Lernen, die unsere Modelle für "
        "die Vorhersage von Lieferzeiten entwickelt, trainiert und in Produktion bringt. Du "
        "arbeitest eng mit dem Produktteam zusammen und verantwortest die Datenpipelines, die "
        "Auswertung der Modelle und deren Überwachung im Betrieb. Wir bieten flexible "
        "Arbeitszeiten, ein modernes Büro in Berlin und ein motiviertes Team.\n"
        "We are an equal opportunity employer."
    )
    assert language_warning(ad) == "not English (de)"
