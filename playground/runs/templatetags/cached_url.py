"""`{% cached_url 'name' arg … %}`: `{% url %}` for the fragments a stream renders, remembered.

Each column's end fragment names ten of the run's URLs, and Django's `reverse` looks up the
URLconf, the script prefix and the active language per call: a third of the fragment's cost,
rendered on the event loop as every column ends (BENCHMARKS.md, "Relay at 100 concurrent
runs"). The site has no per-language URLs (no `i18n_patterns`), so a URL depends only on its
name, its arguments, the URLconf and the script prefix, and the URLconf does not change while
the process runs: the answers are kept, keyed by all four.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable

from django import template
from django.urls import get_script_prefix, get_urlconf, reverse

register = template.Library()

# Run codes make most keys unique; the bound keeps the process's memory flat (~1 MB).
CACHE_SIZE = 4096


@functools.lru_cache(maxsize=CACHE_SIZE)
def _reverse(name: str, args: tuple[Hashable, ...], urlconf: str | None, prefix: str) -> str:
    # `reverse` reads the same prefix from the thread or task it runs in; it is in the key.
    return reverse(name, urlconf=urlconf, args=args)


@register.simple_tag
def cached_url(name: str, *args: Hashable) -> str:
    """Return the URL `{% url name *args %}` would (escaped alike when inserted)."""
    return _reverse(name, args, get_urlconf(), get_script_prefix())
