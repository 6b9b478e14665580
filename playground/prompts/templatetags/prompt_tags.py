"""Template filters for prefix text: whitespace made visible, without changing what is copied."""

from __future__ import annotations

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

# Space, tab and newline get their own marker; any other blank character (no-break space,
# the zero-width ones, the ideographic space) gets a generic one, since each changes the prompt.
WHITESPACE_RE = re.compile(r"[ \t\n\u00a0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff]")
CLASSES = {" ": "ws-space", "\t": "ws-tab", "\n": "ws-nl"}


def _mark(match: re.Match[str]) -> str:
    char = match.group(0)
    css = CLASSES.get(char)
    if css:
        return f'<span class="ws {css}">{char}</span>'
    return f'<span class="ws ws-other" title="U+{ord(char):04X}">{char}</span>'


@register.filter
def visible_ws(value: object) -> SafeString:
    """Return `value` HTML-escaped with every whitespace character wrapped in a marker span.

    The span keeps the real character, so copying the text copies exactly what was written;
    the marker (·, →, ↵) is drawn by CSS and is not part of the copied text.
    """
    text = "" if value is None else str(value)
    # Escaping leaves whitespace alone, so marking the escaped text marks the original's.
    return mark_safe(WHITESPACE_RE.sub(_mark, escape(text)))
