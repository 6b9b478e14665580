"""The 500 page, rendered with the request so its one <style> block can carry the CSP nonce."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.template import loader


def server_error(request: HttpRequest) -> HttpResponse:
    """Render templates/500.html without context processors: the site may be half broken."""
    # django-csp's lazy nonce reads as false until it is first turned into a string.
    nonce = getattr(request, "csp_nonce", None)
    try:
        context = {"csp_nonce": "" if nonce is None else str(nonce)}
        body = loader.get_template("500.html").render(context)
    except Exception:  # the template itself failed: fall back to Django's plain text
        return HttpResponseServerError("<h1>Server Error (500)</h1>")
    return HttpResponseServerError(body)
