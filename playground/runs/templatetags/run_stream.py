"""`{% stream_query run %}`: the token query of a run's stream and Stop URLs, for its owner."""

from __future__ import annotations

from django import template
from django.template.context import Context

from playground.runs import stream_tokens
from playground.runs.models import Run

register = template.Library()


@register.simple_tag(takes_context=True)
def stream_query(context: Context, run: Run) -> str:
    """Return "?t=<token>" when the page is its signed-in owner's, else "" (the slow path)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    session = getattr(request, "session", None)
    session_key = getattr(session, "session_key", None)
    if user is None or not user.is_authenticated or run.user_id != user.pk or not session_key:
        return ""
    # One token per run and request: a page names it in the stream and every Stop button.
    tokens: dict[int, str] = request.__dict__.setdefault("_stream_tokens", {})
    if run.pk not in tokens:
        tokens[run.pk] = stream_tokens.mint(run.pk, str(run.code), user.pk, session_key)
    return f"?t={tokens[run.pk]}"
