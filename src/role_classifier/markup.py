"""HTML and Markdown in posting text: what :func:`role_classifier.text.clean_text` strips.

Tags of known HTML elements, comments, declarations and script/style bodies are removed; Markdown
marks are removed line by line. Every pattern is linear in the length of the text.

Example:
    >>> strip_html("<p>Build <b>RAG</b></p>").split()
    ['Build', 'RAG']
    >>> strip_markdown("## About\\n**p99** latency")
    'About\\np99 latency'
"""

from __future__ import annotations

import html
import re

__all__ = ["strip_html", "strip_markdown", "unescape_escaped_html"]

# -- HTML -----------------------------------------------------------------------------------------
# A tag is only a known HTML element name (or a namespaced one, like Word's <o:p>) right after
# '<' or '</', with well-formed attributes: "a < b", "a<b", "<5 years>" and "<Company name>"
# stay text. No pattern below can scan past the next '<' except inside a quoted attribute value,
# so the cost is linear in the length of the text.
_HTML_ELEMENTS = frozenset(
    """
    a abbr acronym address applet area article aside audio b base basefont bdi bdo big blink
    blockquote body br button canvas caption center cite code col colgroup data datalist dd del
    details dfn dialog dir div dl dt em embed fieldset figcaption figure font footer form frame
    frameset h1 h2 h3 h4 h5 h6 head header hgroup hr html i iframe img input ins kbd label legend
    li link main map mark marquee menu meta meter nav nobr noframes noscript object ol optgroup
    option output p param picture pre progress q rp rt ruby s samp script search section select
    small source span strike strong style sub summary sup svg table tbody td template textarea
    tfoot th thead time title tr track tt u ul var video wbr path g circle rect line polygon
    polyline ellipse defs use symbol
    """.split()
)
_TAG = re.compile(
    r"""<(/?)([a-zA-Z][a-zA-Z0-9]*(?::[a-zA-Z][a-zA-Z0-9-]*)?)"""
    r"""((?:(?:\s+|(?<=["']))[^\s"'<>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'<>`]+))?)*)"""
    r"""\s*/?>"""
)
_ATTRIBUTE = re.compile(r"""([^\s"'<>/=]+)(\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'<>`]+))?""")
_BOOLEAN_ATTRIBUTES = frozenset(
    """
    allowfullscreen async autofocus autoplay checked compact controls default defer disabled
    formnovalidate hidden inert ismap itemscope loop multiple muted nomodule noresize noshade
    novalidate nowrap open playsinline readonly required reversed selected
    """.split()
)
_BLOCK_ELEMENTS = frozenset(
    """
    br p div li ul ol h1 h2 h3 h4 h5 h6 tr td th section article header footer table hr
    blockquote pre dl dt dd center main nav aside figure figcaption address caption thead tbody
    tfoot
    """.split()
)
_DROP_BODY = frozenset({"script", "style"})  # their bodies are code, not text
_DECLARATION = re.compile(r"<![a-zA-Z][^<>]*>|<\?[a-zA-Z][^<>]*>")  # <!DOCTYPE html>, <?xml ...?>
_CDATA = re.compile(r"<!\[CDATA\[|\]\]>")
_CODE_OPEN = re.compile(r"<(script|style)(?=[\s/>])[^<>]*>", re.IGNORECASE)
_END_OF_BODY = {name: re.compile(rf"</\s*{name}\s*>", re.IGNORECASE) for name in _DROP_BODY}
# Entity-escaped HTML (as several applicant-tracking APIs return it): "&lt;p&gt;", "&amp;lt;p&amp;gt;",
# "&#60;/strong&#62;". Only escaped elements that format text count as evidence ("&lt; 50 ms" and
# "&lt;T&gt;" do not, nor "&lt;script&gt;alert(1)&lt;/script&gt;" quoted in an ad: that stays text).
_ESCAPED_LT = r"&(?:amp;)*(?:lt|#0*60|#x0*3c);"
_ESCAPED_TAG = re.compile(
    _ESCAPED_LT + r"(?:!--|/?([a-zA-Z][a-zA-Z0-9]*)(?=[\s/]|&(?:amp;)*(?:gt|#0*62|#x0*3e);))",
    re.IGNORECASE,
)
_ESCAPE_EVIDENCE = _HTML_ELEMENTS - frozenset(
    """
    applet audio base button canvas embed form frame frameset iframe img input link meta noscript
    object option param script select source style svg template textarea track video
    """.split()
)
# -- Markdown -------------------------------------------------------------------------------------
_MD_FENCE = re.compile(r"^(?:`{3,}|~{3,})")
_MD_HEADING = re.compile(r"^#{1,6}(?:\s+(.*?))??(?:\s+#+)?\s*$")
_MD_RULE = re.compile(r"^([-*_=])(?:\s*\1){2,}$")
# A link target: no space or bracket inside it, and parentheses only in balanced pairs one deep
# ("wiki/Go_(language)"), so a search stops at the next bracket, space or unbalanced one.
_MD_URL = r"[^()\[\]\s<>]*(?:\([^()\[\]\s<>]*\)[^()\[\]\s<>]*)*"
_MD_TARGET = r"""\(\s*<?""" + _MD_URL + r""">?(?:\s+(?:"[^"\n\[\]]*"|'[^'\n\[\]]*'))?\s*\)"""
_MD_IMAGE = re.compile(r"!\[[^\[\]\n]*\]" + _MD_TARGET)
_MD_LINK = re.compile(r"(?<!\\)\[([^\[\]\n]*)\]" + _MD_TARGET)
_MD_AUTOLINK = re.compile(r"<((?:https?|mailto):[^\s<>]+)>")
# Emphasis never spans a line, and its body cannot hold its marker, so each search stops at the
# next marker (linear time). It needs a non-space just inside the markers and no word character
# just outside them: "5 * 3 * 2", "snake__case__name" and "**kwargs" are left alone.
_MD_BOLD = re.compile(r"(?<![\\\w*])\*\*(?=[^\s*])([^*\n]+?)(?<=[^\s*\\])\*\*(?![\w*])")
_MD_UBOLD = re.compile(r"(?<![\\\w])__(?=[^\s_])([^_\n]+?)(?<=[^\s_\\])__(?!\w)")
_MD_EM = re.compile(r"(?<![\\\w*])\*(?=[^\s*])([^*\n]+?)(?<=[^\s*\\])\*(?![\w*])")
_MD_CODE = re.compile(r"(?<!\\)`([^`\n]+)`")
_MD_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")  # \- \* \# \_ ... (ASCII punctuation)


def unescape_escaped_html(text: str) -> str:
    """Entity-escaped HTML unescaped into HTML (twice-escaped too); other text as it was."""
    for _ in range(3):
        tags = 0
        for m in _ESCAPED_TAG.finditer(text):
            name = m.group(1)
            if name is None or name.lower() in _ESCAPE_EVIDENCE:
                tags += 1
                if tags >= 2 or not text[: m.start()].strip():
                    break
        else:
            return text
        text = html.unescape(text)
    return text


def strip_html(text: str) -> str:
    """Text without comments, declarations, script/style bodies and tags of known elements."""
    if "<![" in text:
        text = _CDATA.sub("", text)
    if "<!--" in text:
        text = _drop_comments(text)
    if "<!" in text or "<?" in text:
        text = _DECLARATION.sub(" ", text)
    if "<" in text:
        text = _drop_code_bodies(text)
        text = _TAG.sub(_replace_tag, text)
    return text


def _drop_comments(text: str) -> str:
    """Each ``<!-- ... -->`` replaced by a space; an unclosed one is left as text."""
    out, pos = [], 0
    while (start := text.find("<!--", pos)) >= 0:
        end = text.find("-->", start + 4)
        if end < 0:  # no later comment can be closed either
            break
        out += [text[pos:start], " "]
        pos = end + 3
    out.append(text[pos:])
    return "".join(out)


def _drop_code_bodies(text: str) -> str:
    """The bodies of ``<script>`` and ``<style>`` removed (an unclosed one: only its tag)."""
    out, pos, closed = [], 0, dict.fromkeys(_DROP_BODY, True)
    for m in _CODE_OPEN.finditer(text):
        name = m.group(1).lower()
        if m.start() < pos or not closed[name] or m.group(0).endswith("/>"):
            continue
        end = _END_OF_BODY[name].search(text, m.end())
        if end is None:
            closed[name] = False  # no later one has a closing tag either
            continue
        out += [text[pos : m.start()], " "]
        pos = end.end()
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


def _replace_tag(m: re.Match[str]) -> str:
    name = m.group(2).lower()
    if ":" not in name and name not in _HTML_ELEMENTS:
        return m.group(0)  # "<Company>", "<Acme Inc>": text, not a tag
    if m.group(3) and not _real_attributes(m.group(3)):
        return m.group(0)  # "a<b and c>d": prose, not <b> with attributes "and" and "c"
    return "\n" if name in _BLOCK_ELEMENTS else " "


def _real_attributes(attributes: str) -> bool:
    """Whether each attribute has a value, or is one of HTML's boolean attributes."""
    for m in _ATTRIBUTE.finditer(attributes):
        name = m.group(1).lower()
        if not m.group(2) and name not in _BOOLEAN_ATTRIBUTES and not name.startswith("data-"):
            return False
    return True


def strip_markdown(text: str) -> str:
    """Markdown marks removed line by line; code inside fences is kept as it is."""
    if not any(c in text for c in "#*_[`\\<-=~!"):
        return text
    out, in_fence = [], False
    for line in text.split("\n"):
        if _MD_FENCE.match(line):
            in_fence = not in_fence
            out.append("")
        elif in_fence:
            out.append(line)
        else:
            out.append(_strip_markdown_line(line))
    return "\n".join(out)


def _strip_markdown_line(line: str) -> str:
    if line.startswith("#") and (m := _MD_HEADING.match(line)):
        line = m.group(1) or ""
    elif line[:1] in "-*_=" and _MD_RULE.match(line):
        return ""
    if "![" in line:
        line = _MD_IMAGE.sub("", line)
    if "](" in line:
        line = _MD_LINK.sub(r"\1", line)
    if "<" in line:
        line = _MD_AUTOLINK.sub(r"\1", line)
    if "`" in line:
        line = _MD_CODE.sub(r"\1", line)
    if "*" in line:
        line = _MD_EM.sub(r"\1", _MD_BOLD.sub(r"\1", line))
    if "__" in line:
        line = _MD_UBOLD.sub(r"\1", line)
    if "\\" in line:
        line = _MD_ESCAPE.sub(r"\1", line)
    return line
