"""A column's text as Markdown: parsed, code highlighted and sanitised on the server.

The Rendered view of a column (static/js/app.js asks for it once the column has ended) never
runs anything the model wrote: markdown-it-py escapes raw HTML instead of passing it through,
images are not a Markdown feature here (they would load third-party URLs), fenced code is
highlighted by Pygments into class-only <span>s, and nh3 then keeps only an allow-list of
tags, attributes, token classes and URL schemes. Raw stays the default view, whitespace exact.
"""

from __future__ import annotations

import functools

import nh3
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.token import STANDARD_TYPES
from pygments.util import ClassNotFound

# Rendering is linear in the text, but a column can be long: past this many characters the
# rest is left to the Raw view (which always has all of it).
MAX_RENDERED_CHARS = 200_000

_FORMATTER = HtmlFormatter(nowrap=True)
_TOKEN_CLASSES = {name for name in STANDARD_TYPES.values() if name}

ALLOWED_TAGS = {
    "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "li", "ol", "p", "pre", "s", "span", "strong", "table", "tbody", "td", "th", "thead",
    "tr", "ul", "div",
}  # fmt: skip
# `class` is allowed only through ALLOWED_CLASSES (nh3 refuses both for one tag).
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {"a": {"href", "title"}, "ol": {"start"}}
ALLOWED_CLASSES = {"span": _TOKEN_CLASSES, "pre": {"highlight"}}


@functools.lru_cache(maxsize=64)
def _lexer(language: str) -> Lexer | None:
    try:
        return get_lexer_by_name(language, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


def _highlight(code: str, language: str, _attrs: str) -> str:
    """Return a fenced block's code as HTML: Pygments spans for a known language, else escaped."""
    name = (language or "").strip().split(maxsplit=1)[0] if (language or "").strip() else ""
    lexer = _lexer(name.lower()) if name else None
    if lexer is None:
        return f'<pre class="highlight"><code>{escape(code)}</code></pre>'
    return f'<pre class="highlight"><code>{highlight(code, lexer, _FORMATTER)}</code></pre>'


@functools.cache
def _markdown() -> MarkdownIt:
    parser = MarkdownIt(
        "commonmark", {"html": False, "linkify": False, "typographer": False}
    ).enable(["table", "strikethrough"])
    parser.disable("image")
    parser.options["highlight"] = _highlight
    return parser


def render_markdown(text: str) -> SafeString:
    """Return `text` as sanitised HTML: Markdown, highlighted code, nothing executable."""
    clipped = text[:MAX_RENDERED_CHARS]
    html = _markdown().render(clipped)
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        allowed_classes=ALLOWED_CLASSES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    if len(text) > MAX_RENDERED_CHARS:
        shown = f"{MAX_RENDERED_CHARS:,}"
        clean += f'<p class="note">Rendered the first {shown} characters; Raw shows all.</p>'
    return mark_safe(clean)  # noqa: S308 - sanitised by nh3 just above
