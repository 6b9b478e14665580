"""Variable detection and rendering: pure functions, no database."""

from __future__ import annotations

import pytest

from playground.prompts.variables import (
    MissingVariables,
    Variable,
    detect,
    find_names,
    render,
    substitute,
)
from playground.providers.base import Turn
from playground.providers.prompt import Parameters, Prompt


def _prompt(**overrides: object) -> Prompt:
    fields: dict[str, object] = {
        "system": "You write {{language}}.",
        "turns": (
            Turn("user", "Sort {{ items }} please", ("https://example.com/{{image}}.png",)),
            Turn("assistant", "Which order?"),
        ),
        "prefix": "```{{language}}\n",
        "reasoning_prefix": "Think about {{items}} first",
        "suffix": "{{tail}}",
        "stop": ("{{fence}}",),
        "parameters": Parameters(temperature=0.2, max_tokens=256),
    }
    fields.update(overrides)
    return Prompt(**fields)  # type: ignore[arg-type]


def test_it_finds_names_in_order_of_first_use_once_each() -> None:
    assert find_names(["{{b}} {{a}}", "{{ b }} {{c_1}}"]) == ["b", "a", "c_1"]


@pytest.mark.parametrize(
    "text",
    ["{{ 1+1 }}", "{{a-b}}", "{{}}", "{{ 9lives }}", "{ {a} }", "{{a.b}}", "{{{{"],
)
def test_it_ignores_what_is_not_a_variable(text: str) -> None:
    assert find_names([text]) == []
    assert substitute(text, {"a": "X", "b": "Y"}) == text


def test_it_detects_variables_in_every_text_field() -> None:
    names = [variable.name for variable in detect(_prompt())]

    assert names == ["language", "items", "image", "tail", "fence"]


def test_it_carries_defaults_and_descriptions_of_known_variables() -> None:
    known = [Variable("items", "[3, 1, 2]", "A Python list"), Variable("unused", "x")]

    variables = detect(_prompt(), known)

    assert variables[1] == Variable("items", "[3, 1, 2]", "A Python list")
    assert variables[0] == Variable("language")
    assert "unused" not in [variable.name for variable in variables]


def test_it_renders_values_and_defaults_into_every_text() -> None:
    defaults = [Variable("language", "python"), Variable("fence", "```")]
    values = {"items": "[3, 1, 2]", "image": "cat", "tail": "\n    return x\n"}

    rendered = render(_prompt(), defaults, values)

    assert rendered.system == "You write python."
    assert rendered.turns[0] == Turn(
        "user", "Sort [3, 1, 2] please", ("https://example.com/cat.png",)
    )
    assert rendered.turns[1] == Turn("assistant", "Which order?")
    assert rendered.prefix == "```python\n"
    assert rendered.reasoning_prefix == "Think about [3, 1, 2] first"
    assert rendered.suffix == "\n    return x\n"
    assert rendered.stop == ("```",)
    assert rendered.parameters == Parameters(temperature=0.2, max_tokens=256, top_p=None)


def test_it_prefers_a_given_value_to_the_default_and_an_empty_value_falls_back() -> None:
    prompt = _prompt(
        system="{{a}}|{{b}}", turns=(), prefix="", reasoning_prefix="", suffix="", stop=()
    )
    defaults = [Variable("a", "default-a"), Variable("b", "default-b")]

    rendered = render(prompt, defaults, {"a": "given", "b": ""})

    assert rendered.system == "given|default-b"
    assert rendered.suffix == ""  # no fill-in-the-middle


def test_it_keeps_whitespace_values_exactly() -> None:
    prompt = _prompt(
        system="", turns=(), reasoning_prefix="", suffix="", stop=(), prefix="A{{gap}}B"
    )

    assert render(prompt, [], {"gap": " \n\t"}).prefix == "A \n\tB"


def test_it_substitutes_in_a_single_pass() -> None:
    prompt = _prompt(system="", turns=(), reasoning_prefix="", suffix="", stop=(), prefix="{{a}}")

    assert render(prompt, [], {"a": "{{b}}", "b": "never"}).prefix == "{{b}}"


def test_it_lists_every_missing_variable_without_a_default() -> None:
    with pytest.raises(MissingVariables) as caught:
        render(_prompt(), [Variable("language", "python")], {"items": "x"})

    assert caught.value.names == ("image", "tail", "fence")
    assert "image, tail, fence" in str(caught.value)


def test_it_treats_a_whitespace_default_as_a_real_default() -> None:
    prompt = _prompt(
        system="", turns=(), reasoning_prefix="", suffix="", stop=(), prefix="x{{sep}}y"
    )

    assert render(prompt, [Variable("sep", " ")], {}).prefix == "x y"
