"""The simulator's text generation as a pure function: continuation styles, stops, limits."""

from __future__ import annotations

import json

import pytest

from playground.simulator.generate import Ask, count_tokens, generate, plan, tokenize
from playground.simulator.jsonfill import complete


def test_it_tokenizes_losslessly_into_small_pieces() -> None:
    text = 'def f(x):\n    return x  # 你好世界，一二三。\n\tend  "quoted"!'
    tokens = tokenize(text)
    assert "".join(tokens) == text
    assert " 你好" in tokens and "世界" in tokens  # CJK: one or two characters per token
    assert "\n    return" in tokens  # a word carries its leading whitespace


def test_it_is_deterministic_for_the_same_request() -> None:
    ask = Ask(prefix="Once upon a time", seed=7)
    assert generate(ask) == generate(ask)
    assert generate(ask).text != generate(Ask(prefix="Once upon a time", seed=8)).text


@pytest.mark.parametrize(
    ("language", "marker"),
    [
        ("python", "def "),
        ("sql", "SELECT"),
        ("bash", "$"),
        ("sh", "$"),
        ("json", '"'),
        ("typescript", "export function"),
        ("ts", "export function"),
        ("js", "=>"),
        ("go", "func "),
        ("haskell", ";"),
    ],
)
def test_it_writes_code_then_closes_the_fence_after_an_opener(language: str, marker: str) -> None:
    gen = generate(Ask(prefix=f"Here you go:\n```{language}\n", seed=1))
    code, closing, after = gen.text.partition("```\n")
    assert marker in code and code.endswith("\n")
    assert closing and after.strip()  # a closing fence line, then a short sentence
    assert gen.finish == "end"


def test_it_starts_a_new_line_when_the_fence_opener_lost_its_newline() -> None:
    # Anthropic refuses trailing whitespace, so clients send "```python" without "\n".
    assert generate(Ask(prefix="```python", seed=1)).text.startswith("\n")


def test_it_picks_the_snippet_the_user_asked_for() -> None:
    gen = generate(Ask(prefix="```python\n", topic="Please write quick sort code", seed=3))
    assert gen.text.startswith("def quick_sort(arr):")


@pytest.mark.parametrize(
    "prefix",
    [
        "{",
        '{"name": "Smart',
        '{\n  "name": "x",\n  ',
        '{"a": [1, 2,',
        '{"a": tr',
        '{"a": -',
        '{"a": {"b": ',
        '{"a"',
        '{"na',
        '{"a": "x\\',
        '{"a": [{"b": 1}, ',
    ],
)
def test_it_completes_a_json_prefix_into_valid_json(prefix: str) -> None:
    gen = generate(Ask(prefix=prefix, topic="Extract the name, size, price, and color.", seed=2))
    parsed = json.loads(prefix + gen.text)
    assert {"size", "price", "color"} <= parsed.keys()


def test_it_keeps_the_prefix_json_layout() -> None:
    text = complete('{\n  "name": "Mini",', ["name", "price"])
    assert text == '\n  "price": 998\n}'


def test_it_continues_chinese_prose_in_chinese() -> None:
    gen = generate(Ask(prefix="叮铃铃,下课铃响了", seed=4))
    assert gen.text.startswith("，")
    assert sum("\u4e00" <= ch <= "\u9fff" for ch in gen.text) > len(gen.text) / 2


def test_it_continues_english_prose_mid_sentence() -> None:
    gen = generate(Ask(prefix="I'm not sure, but my best guess is", seed=5))
    assert gen.text.startswith(" ") and gen.text[1].islower()
    assert not gen.text.startswith(" I'm not sure")
    assert 60 <= gen.output_tokens <= 230


def test_it_does_not_add_a_space_after_a_prefix_ending_in_one() -> None:
    assert not generate(Ask(prefix="The answer is ", seed=5)).text.startswith(" ")


@pytest.mark.parametrize(("prefix", "lead"), [("Shakespeare: ", ""), ("Shakespeare:", " ")])
def test_it_writes_a_line_of_dialogue_after_a_speaker_tag(prefix: str, lead: str) -> None:
    gen = generate(Ask(prefix=f"Romeo: Hello.\n{prefix}", seed=6))
    assert gen.text.startswith(lead) and not gen.text.startswith(lead + " ")
    assert gen.text.endswith("\n") and gen.text.count("\n") == 1


def test_it_speaks_for_a_named_character_with_an_empty_prefix() -> None:
    gen = generate(Ask(prefix="", speaker="凯尔希", seed=6))
    assert gen.text.endswith("。\n")


def test_it_answers_afresh_when_the_prefix_is_ignored() -> None:
    gen = generate(Ask(prefix="", fresh=True, topic="What is the meaning of life?", seed=1))
    assert gen.text.startswith("Sure! Here is")


def test_it_writes_a_fim_middle_that_connects_prompt_and_suffix() -> None:
    prompt, suffix = "def fib(a):", "    return fib(a-1) + fib(a-2)"
    gen = generate(Ask(prefix=prompt, suffix=suffix, seed=1))
    assert "return a" in gen.text
    compile(prompt + gen.text + suffix, "<fim>", "exec")


def test_it_ignores_a_stop_sequence_inside_the_prefix() -> None:
    gen = generate(Ask(prefix="```python\n", stop=("```python",), seed=1))
    assert gen.finish == "end" and gen.text.startswith("def ")


def test_it_stops_at_a_stop_sequence_in_the_generated_text_and_drops_it() -> None:
    full = generate(Ask(prefix="```python\n", seed=1))
    stopped = generate(Ask(prefix="```python\n", stop=("nothing-matches", "```"), seed=1))
    assert stopped.finish == "stop" and stopped.stop_sequence == "```"
    assert full.text.startswith(stopped.text) and "```" not in stopped.text
    assert stopped.output_tokens == count_tokens(stopped.text)


def test_it_cuts_at_max_tokens_counting_reasoning_first() -> None:
    gen = generate(Ask(prefix="Hello", reasoning=True, max_tokens=12, seed=1))
    assert gen.finish == "length" and gen.output_tokens == 12
    assert gen.reasoning_tokens == 12 and gen.text == ""
    gen = generate(Ask(prefix="Hello", max_tokens=5, seed=1))
    assert gen.finish == "length" and len(tokenize(gen.text)) == 5 and gen.stop_sequence is None


def test_it_continues_a_reasoning_prefix() -> None:
    gen = generate(Ask(reasoning=True, reasoning_prefix="Compare the tenths digit", seed=1))
    assert gen.reasoning.startswith(" ") and gen.reasoning[1].islower()
    assert gen.text


def test_it_writes_about_two_thousand_tokens_for_long_models() -> None:
    for prefix in ("Once", "```python\n", "{"):
        gen = generate(Ask(prefix=prefix, long=True, seed=1))
        assert 1800 <= gen.output_tokens <= 2600, prefix
    json.loads("{" + generate(Ask(prefix="{", long=True, seed=1)).text)


def test_it_counts_input_tokens_over_all_input_text() -> None:
    gen = generate(Ask(prefix="Hi", input_text="one two three four", seed=1))
    assert gen.input_tokens == 4


def test_it_plans_deltas_of_one_to_three_tokens_after_the_echo() -> None:
    echo = "Shakespeare: hello there"
    gen = generate(Ask(prefix=echo, seed=1))
    deltas = plan(gen, seed=1, echo=echo, split_echo=True)
    texts = [d.text for d in deltas]
    assert "".join(texts) == echo + gen.text
    assert texts[0] != echo and echo.startswith(texts[0] + texts[1])  # replayed over chunks
    assert all(1 <= d.tokens <= 3 for d in deltas)
    assert plan(gen, seed=1, echo=echo)[0].text == echo  # vLLM-style echo: one chunk
