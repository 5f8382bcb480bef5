"""The HTML of the page, the role definitions and the API docs, rendered on the server.

Everything that came from a user or a model is escaped here (:func:`html.escape`), once, so an ad
containing ``<script>`` is shown as text. The single-ad form is a plain HTML form: it works with
JavaScript off, and the answer is rendered by the same code either way. The page's only script
(``static/app.js``) drives the CSV upload.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from html import escape
from typing import Any

from ..modeling.model import Prediction
from ..taxonomy import Taxonomy

__all__ = ["AdForm", "highlight", "render_docs", "render_index", "render_roles", "role_anchor"]

_NON_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass
class AdForm:
    """What the single-ad form shows: the fields, and the answer or an error once submitted."""

    text: str = ""
    title: str = ""
    prediction: Prediction | None = None
    title_read: str | None = None
    title_guessed: bool = False
    body: str = ""
    error: str | None = None
    review_rule: tuple[float, float] | None = None
    """the model's review band (confidence, margin), explained next to the badge."""


def role_anchor(label: str) -> str:
    """The id of a role on the definitions page: ``"ML Engineer"`` -> ``"role-ml-engineer"``."""
    return "role-" + _NON_SLUG.sub("-", label.lower()).strip("-")


def highlight(text: str, sentences: list[str]) -> str:
    """``text`` as HTML with each of ``sentences`` found in it wrapped in ``<mark>``.

    Sentences are matched exactly, else with any whitespace between words (case-insensitive);
    one that cannot be found, or overlaps an earlier one, is left unmarked.

    Example:
        >>> highlight("We ship <RAG>. You own evals.", ["You own evals."])
        'We ship &lt;RAG&gt;. <mark id="evidence-1">You own evals.</mark>'
    """
    spans: list[tuple[int, int, int]] = []
    for n, sentence in enumerate(sentences, 1):
        words = sentence.split()
        if not words:
            continue
        start = text.find(sentence)
        if start >= 0:
            end = start + len(sentence)
        else:
            pattern = r"\s+".join(re.escape(w) for w in words)
            match = re.search(pattern, text, flags=re.IGNORECASE)
            if match is None:
                continue
            start, end = match.span()
        if all(end <= s or start >= e for s, e, _ in spans):
            spans.append((start, end, n))
    out, pos = [], 0
    for start, end, n in sorted(spans):
        out.append(escape(text[pos:start], quote=False))
        out.append(f'<mark id="evidence-{n}">{escape(text[start:end], quote=False)}</mark>')
        pos = end
    out.append(escape(text[pos:], quote=False))
    return "".join(out)


def _page(title: str, main: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<link rel="stylesheet" href="/static/style.css">
<script src="/static/app.js" defer></script>
</head>
<body>
<header>
<a class="home" href="/">role-classifier</a>
<nav aria-label="main"><a href="/">Classify</a> <a href="/roles">Role definitions</a> \
<a href="/docs">API</a></nav>
</header>
<main>
{main}
</main>
</body>
</html>
"""


def render_index(form: AdForm, labels: list[str], model_name: str, max_upload_mb: float) -> str:
    """The page: the single-ad form (with its answer once submitted) and the CSV upload."""
    if form.error:
        status = f'<p class="error" role="alert">{escape(form.error)}</p>'
    else:
        status = ""
    if form.title_guessed:
        title_hint = (
            "guessed from the first line of the ad: edit it, or empty it, and classify again"
        )
    else:
        title_hint = "optional: left empty, a short first line of the ad is read as the title"
    result = _render_result(form) if form.prediction is not None else ""
    main = f"""
<h1>Which AI/ML role is this job ad hiring for?</h1>
<section aria-labelledby="one-ad">
<h2 id="one-ad">Classify one ad</h2>
<form method="post" action="/#result" class="ad-form">
<label for="title">Title</label>
<input id="title" name="title" type="text" value="{escape(form.title)}" \
aria-describedby="title-hint" autocomplete="off">
<p id="title-hint" class="hint">{escape(title_hint)}</p>
<label for="text">Job ad</label>
<textarea id="text" name="text" rows="14" required \
placeholder="Paste the whole ad here (plain text or HTML)">{escape(form.text)}</textarea>
<button type="submit" id="classify">Classify</button>
</form>
{status}
{result}
</section>
<section aria-labelledby="csv">
<h2 id="csv">Label a CSV</h2>
<p>Every row comes back with <code>predicted_role</code>, <code>confidence</code>,
<code>runner_up</code>, <code>runner_up_score</code>, <code>review</code> and <code>error</code>
added, like <code>role-classifier label-csv</code>. Files up to {max_upload_mb:g} MB.</p>
<form id="csv-form" method="post" action="/v1/label-csv" enctype="multipart/form-data">
<label for="csv-file">CSV file (with a header row)</label>
<input id="csv-file" name="file" type="file" accept=".csv,text/csv" required>
<label for="text-column">Text column</label>
<input id="text-column" name="text_column" type="text" value="description" required>
<label for="title-column">Title column</label>
<input id="title-column" name="title_column" type="text" value="title" \
aria-describedby="title-column-hint">
<p id="title-column-hint" class="hint">empty it if the file has no title column</p>
<label for="delimiter">Delimiter</label>
<input id="delimiter" name="delimiter" type="text" value="" size="4" \
aria-describedby="delimiter-hint" autocomplete="off">
<p id="delimiter-hint" class="hint">empty: found from the header row; else <code>,</code>
<code>;</code> <code>|</code> or <code>tab</code></p>
<label class="check"><input id="all-scores" name="all_scores" type="checkbox" value="true">
Add a probability column per role and show the file's role shares</label>
<button type="submit">Label CSV</button>
</form>
<div id="csv-status" aria-live="polite"></div>
<noscript><p class="hint">Labelling a CSV here needs JavaScript; without it, use
<code>role-classifier label-csv</code>.</p></noscript>
</section>
<footer><p class="hint">Model: {escape(model_name)}. Roles: {escape(", ".join(labels))}.</p></footer>
"""
    return _page("role-classifier", main)


def _render_result(form: AdForm) -> str:
    pred = form.prediction
    assert pred is not None
    label = escape(pred.label)
    link = f'<a href="/roles#{role_anchor(pred.label)}">{label}</a>'
    if form.title_read:
        how = "guessed from the first line" if form.title_guessed else "as given"
        title = f"<p>Title read ({how}): <q>{escape(form.title_read)}</q></p>"
    else:
        title = "<p>Read without a title.</p>"
    truncated = (
        '<p class="note" id="truncated">Truncated: this ad is very long, so the model read '
        "evenly spaced parts of it, not every sentence.</p>"
        if pred.truncated
        else ""
    )
    runner_ups = "".join(
        f'<li><a href="/roles#{role_anchor(k)}">{escape(k)}</a> {v:.2f}</li>'
        for k, v in pred.runner_ups
    )
    rows = "".join(
        f'<tr><th scope="row"><a href="/roles#{role_anchor(k)}">{escape(k)}</a></th>'
        f'<td class="bar"><meter min="0" max="1" value="{v:.4f}">{v:.0%}</meter></td>'
        f"<td>{v:.2f}</td></tr>"
        for k, v in sorted(pred.scores.items(), key=lambda kv: -kv[1])
    )
    evidence = "".join(
        f'<li><a href="#evidence-{i}">{escape(s)}</a></li>' for i, s in enumerate(pred.evidence, 1)
    )
    band = _review_badge(pred.review, form.review_rule)
    evidence_block = (
        f'<h3>Evidence</h3><ol class="evidence">{evidence}</ol>'
        if pred.evidence
        else "<h3>Evidence</h3><p>No sentence stood out.</p>"
    )
    return f"""
<section id="result" aria-labelledby="answer" tabindex="-1">
<h2 id="answer">Answer: <span class="label">{link}</span>
<span class="confidence">confidence {pred.confidence:.2f}</span>
{band}</h2>
{_review_legend(form.review_rule)}
{title}
{truncated}
{f'<h3>Runner-ups</h3><ol class="runner-ups">{runner_ups}</ol>' if runner_ups else ""}
<h3>Confidence per role</h3>
<table class="scores"><caption class="hint">calibrated probabilities; they sum to 1</caption>
{rows}</table>
{evidence_block}
<h3>The ad as the model read it</h3>
<div class="ad-text">{highlight(form.body, pred.evidence)}</div>
</section>
"""


def _review_rule_text(rule: tuple[float, float] | None) -> str:
    if rule is None:
        return ""
    confidence, margin = rule
    return (
        f" An answer is auto when its confidence is at least {confidence:.2f} and it leads the "
        f"runner-up by at least {margin:.2f}."
    )


def _review_badge(review: str, rule: tuple[float, float] | None) -> str:
    """The auto/review badge, its meaning in a tooltip (the legend below says it for touch)."""
    if review == "auto":
        text, meaning = "auto", "auto: sure enough to be used as it is."
    else:
        text, meaning = "review: check this one", "review: a person should check this answer."
    tip = escape(meaning + _review_rule_text(rule))
    return (
        f'<span class="review review-{escape(review)}" title="{tip}" '
        f'aria-describedby="review-legend">{text}</span>'
    )


def _review_legend(rule: tuple[float, float] | None) -> str:
    return (
        '<p class="hint" id="review-legend"><strong>auto</strong>: sure enough to be used as it '
        "is; <strong>review</strong>: a person should check the answer (label-csv writes the "
        f"same in its <code>review</code> column).{escape(_review_rule_text(rule))}</p>"
    )


def render_roles(taxonomy: Taxonomy) -> str:
    """The role definitions of the served model's taxonomy, one section per role."""
    parts = ["<h1>Role definitions</h1>", "<p>The roles the served model chooses from.</p>"]
    for role in taxonomy.roles:
        parts.append(f'<section id="{role_anchor(role.name)}"><h2>{escape(role.name)}</h2>')
        parts.append(f"<p>{escape(role.definition)}</p>")
        if role.distinguish:
            parts.append(f"<p><strong>Not to be confused:</strong> {escape(role.distinguish)}</p>")
        if role.responsibilities:
            items = "".join(f"<li>{escape(r)}</li>" for r in role.responsibilities)
            parts.append(f"<h3>Typical work</h3><ul>{items}</ul>")
        if role.titles:
            parts.append(f"<p><strong>Titles:</strong> {escape('; '.join(role.titles))}</p>")
        if role.keywords:
            parts.append(f"<p><strong>Keywords:</strong> {escape(', '.join(role.keywords))}</p>")
        parts.append("</section>")
    return _page("Role definitions - role-classifier", "\n".join(parts))


def render_docs(openapi: dict[str, Any]) -> str:
    """The OpenAPI schema as a readable page: every route, its body and its answers.

    Rendered here rather than by Swagger UI, whose assets come from a CDN: this page works
    with no network. The machine-readable schema is at ``/openapi.json``.
    """
    schemas = openapi.get("components", {}).get("schemas", {})
    parts = [
        f"<h1>{escape(openapi['info']['title'])} API</h1>",
        f"<p>{escape(openapi['info'].get('description', ''))}</p>",
        '<p>The machine-readable schema: <a href="/openapi.json">/openapi.json</a>.</p>',
    ]
    for path, ops in openapi.get("paths", {}).items():
        for method, op in ops.items():
            anchor = _NON_SLUG.sub("-", f"{method} {path}".lower()).strip("-")
            parts.append(
                f'<section id="{anchor}"><h2><code>{method.upper()} {escape(path)}</code></h2>'
            )
            if op.get("summary"):
                parts.append(f"<p><strong>{escape(op['summary'])}</strong></p>")
            if op.get("description"):
                parts.append(f'<p class="doc">{escape(op["description"])}</p>')
            body = op.get("requestBody", {}).get("content", {})
            for media, content in body.items():
                parts.append(f"<h3>Body ({escape(media)})</h3>")
                parts.append(_schema_html(content.get("schema", {}), schemas))
            parts.append("<h3>Answers</h3><dl>")
            for code, answer in op.get("responses", {}).items():
                schema = answer.get("content", {}).get("application/json", {}).get("schema")
                shape = f" {_type_name(schema)}" if schema else ""
                parts.append(
                    f"<dt><code>{escape(code)}</code>{escape(shape)}</dt>"
                    f"<dd>{escape(answer.get('description', ''))}</dd>"
                )
            parts.append("</dl></section>")
    parts.append("<h2>Schemas</h2>")
    for name, schema in schemas.items():
        parts.append(f'<section id="schema-{escape(name)}"><h3>{escape(name)}</h3>')
        parts.append(_schema_html(schema, schemas))
        parts.append("</section>")
    return _page("API - role-classifier", "\n".join(parts))


def _type_name(schema: dict[str, Any] | None) -> str:
    if not schema:
        return "any"
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " | ".join(_type_name(s) for s in schema[key])
    kind = schema.get("type", "object")
    if kind == "array":
        return f"list[{_type_name(schema.get('items'))}]"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"dict[str, {_type_name(schema['additionalProperties'])}]"
    return {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}.get(
        kind, str(kind)
    )


def _schema_html(schema: dict[str, Any], schemas: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f'<p>See <a href="#schema-{escape(name)}">{escape(name)}</a>.</p>' + _schema_html(
            schemas.get(name, {}), schemas
        )
    props = schema.get("properties")
    if not props:
        return f"<p><code>{escape(_type_name(schema))}</code></p>"
    required = set(schema.get("required", []))
    rows = []
    for name, prop in props.items():
        default = f" (default {json.dumps(prop['default'])})" if "default" in prop else ""
        rows.append(
            f'<tr><th scope="row"><code>{escape(name)}</code></th>'
            f"<td><code>{escape(_type_name(prop))}</code></td>"
            f"<td>{'required' if name in required else 'optional' + escape(default)}</td>"
            f"<td>{escape(prop.get('description', ''))}</td></tr>"
        )
    return (
        '<table class="schema"><tr><th>field</th><th>type</th><th></th><th></th></tr>'
        + "".join(rows)
        + "</table>"
    )
