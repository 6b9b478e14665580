"""`{% cached_url %}` answers what `{% url %}` would, under any script prefix."""

from __future__ import annotations

import uuid

from django.urls import clear_script_prefix, reverse, set_script_prefix

from playground.runs.templatetags.cached_url import cached_url

CODE = uuid.UUID("12345678-1234-5678-1234-567812345678")


def test_it_gives_the_url_reverse_gives_for_the_same_name_and_arguments() -> None:
    for name, args in [
        ("runs:inspect", (CODE, 2)),
        ("runs:download", (CODE, 0, "json")),
        ("runs:compare", ()),
        ("runs:detail", (CODE,)),
    ]:
        assert cached_url(name, *args) == reverse(name, args=args)
        assert cached_url(name, *args) == reverse(name, args=args)  # from the cache


def test_a_different_script_prefix_gets_its_own_url() -> None:
    plain = cached_url("runs:detail", CODE)
    try:
        set_script_prefix("/mounted/")
        mounted = cached_url("runs:detail", CODE)
    finally:
        clear_script_prefix()
    assert mounted == "/mounted" + plain
    assert cached_url("runs:detail", CODE) == plain
