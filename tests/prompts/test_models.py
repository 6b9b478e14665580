"""What the run-and-compare page relies on: variables(), render(), content() and the index."""

from __future__ import annotations

import pytest

from playground.accounts.models import User
from playground.prompts.models import PrefixTemplate
from playground.prompts.templatetags.prompt_tags import visible_ws
from playground.prompts.variables import MissingVariables
from playground.providers.base import Turn
from playground.providers.prompt import Variable
from tests.prompts.factories import make_template


def test_it_renders_a_saved_template(alice: User) -> None:
    template = make_template(
        alice,
        system="Use {{lang}}.",
        turns=[{"role": "user", "content": "Sort {{items}}", "images": []}],
        prefix="```{{lang}}\n",
        suffix="",
        stop=["```"],
        max_tokens=64,
        variable_notes=[{"name": "lang", "default": "python", "description": "Language"}],
    )

    rendered = template.render({"items": "[2, 1]"})

    assert template.variables() == [Variable("lang", "python", "Language"), Variable("items")]
    assert rendered.system == "Use python."
    assert rendered.turns == (Turn("user", "Sort [2, 1]"),)
    assert rendered.prefix == "```python\n"
    assert rendered.suffix == ""  # no fill-in-the-middle
    assert rendered.stop == ("```",)
    assert rendered.parameters.max_tokens == 64
    with pytest.raises(MissingVariables) as caught:
        template.render({})
    assert caught.value.names == ("items",)


def test_it_applies_content_back_unchanged(alice: User) -> None:
    template = make_template(alice, tags=["a"], temperature=1.0, suffix="\n")
    copy = PrefixTemplate(owner=alice)

    copy.apply_content(template.content())

    assert copy.content() == template.content()


def test_it_indexes_name_description_tags_and_prefix_in_lower_case(alice: User) -> None:
    template = make_template(alice, name="Big", description="Desc", tags=["t1"], prefix="PRE")

    assert template.search_text == "big\ndesc\nt1\npre"
    assert template.tag_index == "|t1|"


def test_it_marks_whitespace_after_escaping() -> None:
    html = visible_ws('<b> & "x"\t\n\u00a0')

    assert html == (
        '&lt;b&gt;<span class="ws ws-space"> </span>&amp;<span class="ws ws-space"> </span>'
        '&quot;x&quot;<span class="ws ws-tab">\t</span><span class="ws ws-nl">\n</span>'
        '<span class="ws ws-other" title="U+00A0">\u00a0</span>'
    )
    assert visible_ws(None) == ""
