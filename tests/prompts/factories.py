"""Builders for prefix templates in tests: keyword defaults, no factory library."""

from __future__ import annotations

from typing import Any

from playground.accounts.models import User
from playground.prompts.models import PrefixTemplate, Visibility


def make_template(owner: User | None, **kwargs: Any) -> PrefixTemplate:
    """Return a saved template (with its first revision) owned by `owner`."""
    kwargs.setdefault("name", "Python fence")
    kwargs.setdefault("prefix", "```python\n")
    kwargs.setdefault("turns", [{"role": "user", "content": "Sort {{items}}", "images": []}])
    kwargs.setdefault("stop", ["```"])
    kwargs.setdefault("visibility", Visibility.PRIVATE)
    template = PrefixTemplate(owner=owner, **kwargs)
    template.save(author=owner)
    return template
