"""The continuation is relative to the user's ORIGINAL prefix: echoes and overlaps removed,
never a character added or lost, whatever the chunk boundaries."""

from __future__ import annotations

import random

import pytest

from playground.providers.normalise import EchoStripper, Normaliser, OverlapTrimmer


def run(stripper: EchoStripper | OverlapTrimmer | Normaliser, chunks: list[str]) -> str:
    out = "".join(stripper.feed(chunk) for chunk in chunks)
    if isinstance(stripper, EchoStripper | Normaliser):
        out += stripper.flush()
    return out


def chunked(text: str, rng: random.Random) -> list[str]:
    cuts = sorted(rng.sample(range(1, len(text)), k=min(len(text) - 1, rng.randint(0, 6))))
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]


def test_it_strips_mistrals_echo_split_across_chunks() -> None:
    chunks = ["Shake", "speare", ": Good", " morrow"]
    assert run(EchoStripper("Shakespeare: "), chunks) == "Good morrow"


def test_it_holds_back_only_while_the_output_could_still_be_the_echo() -> None:
    stripper = EchoStripper("Shakespeare: ")
    assert stripper.feed("Shake") == ""
    assert stripper.feed("down") == "Shakedown"
    assert stripper.feed(" later") == " later"


def test_it_releases_a_partial_echo_at_the_end_of_the_output() -> None:
    assert run(EchoStripper("Shakespeare: "), ["Shake"]) == "Shake"


def test_it_strips_the_echo_only_once() -> None:
    assert run(EchoStripper("ha"), ["haha", "ha"]) == "haha"


@pytest.mark.parametrize(
    ("output", "continuation"),
    [
        ("\ndef f", "def f"),  # the model re-emits the trimmed newline: not doubled
        ("def f", "def f"),  # the model does not: the user's newline stays
        ("\n\ndef f", "\ndef f"),  # only the trimmed part is an overlap
        ("", ""),
    ],
)
def test_it_reconciles_anthropics_trimmed_whitespace(output: str, continuation: str) -> None:
    # prefix "```python\n" is sent as "```python"; the trimmed part is "\n"
    assert run(Normaliser(trimmed="\n"), [output]) == continuation


def test_it_reconciles_trimmed_whitespace_across_chunks() -> None:
    assert run(OverlapTrimmer(" \n"), [" ", "", "\n", "x \n"]) == "x \n"
    assert run(OverlapTrimmer(" \n"), [" ", "y"]) == "y"


def test_it_never_adds_or_loses_a_character_for_any_chunking() -> None:
    rng = random.Random(20261122)
    alphabet = "ab \n"
    for _ in range(3000):
        prefix = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
        sent = prefix.rstrip()
        trimmed = prefix[len(sent) :]
        output = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 10)))
        echoing = rng.random() < 0.5
        streamed = (prefix + output) if echoing else output
        echo = prefix if echoing or rng.random() < 0.5 else ""
        continuation = run(Normaliser(echo=echo, trimmed=trimmed), chunked(streamed, rng))
        # Reference: drop a whole echo, then the longest start that repeats the trimmed part.
        expected = streamed.removeprefix(echo) if echo else streamed
        overlap = 0
        while overlap < min(len(trimmed), len(expected)) and expected[overlap] == trimmed[overlap]:
            overlap += 1
        assert continuation == expected[overlap:]
        # The user's prefix is kept whole, and the model's own text is all there.
        full = prefix + continuation
        assert full.startswith(prefix)
        assert full.endswith(expected[overlap:])
