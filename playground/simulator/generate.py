"""Deterministic text: what the simulated model writes after a prefix.

`generate(ask)` is a pure function of the request: the same `Ask` always gives the same
`Generation`. It continues from the end of the prefix (code after a fence opener, the rest of a
JSON object after `{`, a line of dialogue after a speaker tag, Chinese after Chinese, English
prose otherwise), or writes a fresh answer when the dialect ignores the prefix. Stop sequences
are looked for in the generated text only, and `max_tokens` counts reasoning first.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass

from playground.simulator import corpus, jsonfill

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
# A token: a word with its leading whitespace, 1–2 CJK characters, or a punctuation run.
_TOKEN = re.compile(rf"\s*(?:[{_CJK}]{{1,2}}|[^\W{_CJK}]+|[^\w\s]+)|\s+")
_CJK_CHAR = re.compile(rf"[{_CJK}]")
_FENCE = re.compile(r"```([^\n`]*)")
_SPEAKER = re.compile(r"(?:^|\n)[ \t]*([^\n:：]{1,40})([:：])[ \t]?$")
_WORD_LIST = re.compile(r"(?:[A-Za-z_]+,\s*)+[A-Za-z_]+,?\s+and\s+[A-Za-z_]+")
_PARAM = re.compile(r"\(\s*([A-Za-z_]\w*)")


@dataclass(frozen=True)
class Ask:
    """What the simulated model is asked to write."""

    prefix: str = ""
    topic: str = ""  # the last user message: picks JSON keys, code snippets, the language
    input_text: str = ""  # every input string, for the usage count
    fresh: bool = False  # the dialect ignored the prefix: answer a new turn instead
    suffix: str | None = None  # FIM: write the middle between prefix and suffix
    reasoning: bool = False
    reasoning_prefix: str = ""
    json_mode: bool = False
    speaker: str | None = None
    long: bool = False
    stop: tuple[str, ...] = ()
    max_tokens: int | None = None
    seed: int = 0
    tool_results: tuple[tuple[str, str], ...] = ()  # (function name, result) to answer from


@dataclass(frozen=True)
class Generation:
    """The result: reasoning and text, why it ended, and honest token counts."""

    reasoning: str
    text: str
    finish: str  # "end" (natural), "stop" (a stop sequence matched), "length" or "tool_calls"
    stop_sequence: str | None
    input_tokens: int
    output_tokens: int
    reasoning_tokens: int = 0


@dataclass(frozen=True)
class Delta:
    """One streamed piece: 1–3 tokens of reasoning or content."""

    kind: str  # "reasoning" or "content"
    text: str
    tokens: int


def tokenize(text: str) -> list[str]:
    """Return `text` split into simulator tokens; joining them gives `text` back."""
    return _TOKEN.findall(text)


def count_tokens(text: str) -> int:
    """Return the number of simulator tokens in `text`."""
    return len(_TOKEN.findall(text))


def seed_for(base: int, *parts: object) -> int:
    """Return a stable seed for `parts` (Python's own hash() changes between processes)."""
    digest = hashlib.sha256(repr((base, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def generate(ask: Ask) -> Generation:
    """Return what the model writes for `ask`."""
    rng = random.Random(ask.seed)
    reasoning = tokenize(_reasoning(ask, rng)) if ask.reasoning else []
    text, stop_sequence = _cut_at_stop(_body(ask, rng), ask.stop)
    content = tokenize(text)
    finish = "stop" if stop_sequence is not None else "end"
    limit = ask.max_tokens
    if limit is not None and len(reasoning) + len(content) > limit:
        reasoning, content = reasoning[:limit], content[: max(0, limit - len(reasoning))]
        finish, stop_sequence = "length", None
    return Generation(
        reasoning="".join(reasoning),
        text="".join(content),
        finish=finish,
        stop_sequence=stop_sequence,
        input_tokens=count_tokens(ask.input_text),
        output_tokens=len(reasoning) + len(content),
        reasoning_tokens=len(reasoning),
    )


def plan(gen: Generation, seed: int, echo: str = "", split_echo: bool = False) -> list[Delta]:
    """Return the deltas to stream: the echoed prefix (if any), reasoning, then content."""
    rng = random.Random(seed)
    deltas: list[Delta] = []
    if echo:
        pieces = _groups(tokenize(echo), rng) if split_echo else [[echo]]
        deltas += [Delta("content", "".join(p), len(p)) for p in pieces]
    for kind, text in (("reasoning", gen.reasoning), ("content", gen.text)):
        deltas += [Delta(kind, "".join(p), len(p)) for p in _groups(tokenize(text), rng)]
    return deltas


def _groups(tokens: list[str], rng: random.Random) -> list[list[str]]:
    groups, i = [], 0
    while i < len(tokens):
        size = rng.randint(1, 3)
        groups.append(tokens[i : i + size])
        i += size
    return groups


def _cut_at_stop(text: str, stops: tuple[str, ...]) -> tuple[str, str | None]:
    hits = [(text.find(s), s) for s in stops if s and s in text]
    if not hits:
        return text, None
    index, stop = min(hits)
    return text[:index], stop


def _target(rng: random.Random, long: bool) -> int:
    return rng.randint(1900, 2100) if long else rng.randint(60, 200)


def is_cjk(text: str) -> bool:
    """Return whether the end of `text` is mostly Chinese/Japanese/Korean."""
    tail = "".join(text.split())[-40:]
    return bool(tail) and len(_CJK_CHAR.findall(tail)) * 10 >= len(tail) * 3


def _body(ask: Ask, rng: random.Random) -> str:
    target = _target(rng, ask.long)
    prefix = ask.prefix
    if ask.suffix is not None:
        return _fim_middle(prefix, ask.suffix, rng)
    if ask.json_mode and (ask.fresh or not prefix.lstrip().startswith("{")):
        return "{" + _json("{", ask, target)
    if ask.fresh and ask.tool_results:
        return _tool_answer(ask.tool_results, rng, target)
    if ask.fresh:
        return _fresh(ask.topic, rng, target)
    fence = _FENCE.findall(prefix)
    if len(fence) % 2 == 1:
        return _code(prefix, fence[-1].strip(), ask, rng, target)
    if prefix.lstrip().startswith("{") and jsonfill.scan(prefix) is not None:
        return _json(prefix, ask, target)
    speaker = _SPEAKER.search(prefix)
    if (ask.speaker and not prefix.strip()) or (speaker and _looks_like_name(speaker[1])):
        return _dialogue(prefix, rng, target, is_cjk(prefix or ask.speaker or ""))
    return _prose(prefix, rng, target, is_cjk(prefix or ask.topic))


def _looks_like_name(name: str) -> bool:
    words = name.split()
    if _CJK_CHAR.search(name):
        return len(name.strip()) <= 8
    return 0 < len(words) <= 3 and all(w[0].isupper() for w in words)


def _pick(rng: random.Random, items: tuple[str, ...], last: str) -> str:
    choice = rng.choice(items)
    return choice if choice != last else items[(items.index(choice) + 1) % len(items)]


def _prose(
    prefix: str, rng: random.Random, target: int, cjk: bool, english: tuple[str, ...] = ()
) -> str:
    clauses, sentences = (
        (corpus.CJK_CLAUSES, corpus.CJK_SENTENCES)
        if cjk
        else (corpus.CLAUSES, english or corpus.SENTENCES)
    )
    last = prefix.rstrip()[-1:]
    sentence_over = not last or last in ".!?:。！？：…\"'”」"
    space = "" if cjk or not prefix or prefix[-1].isspace() else " "
    piece = rng.choice(sentences if sentence_over else clauses)
    parts = [space + piece]
    count = count_tokens(parts[0])
    while count < target:
        piece = _pick(rng, sentences, piece)
        gap = "\n\n" if rng.random() < 0.2 else ("" if cjk else " ")
        parts.append(gap + piece)
        count += count_tokens(parts[-1])
    return "".join(parts)


def _dialogue(prefix: str, rng: random.Random, target: int, cjk: bool) -> str:
    lines = corpus.CJK_DIALOGUE if cjk else corpus.DIALOGUE
    lead = " " if prefix.endswith(":") else ""
    line = rng.choice(lines)
    parts = [line]
    # One line of dialogue; a long model keeps the character talking.
    while target > 1000 and count_tokens("".join(parts)) < target:
        line = _pick(rng, lines, line)
        parts.append(line)
    return lead + ("" if cjk else " ").join(parts) + "\n"


def _code(prefix: str, language: str, ask: Ask, rng: random.Random, target: int) -> str:
    lang = language.lower()
    lang = corpus.LANGUAGE_ALIASES.get(lang, lang)
    lead = "" if prefix.endswith("\n") else "\n"
    if lang == "json":
        code = "{" + _json("{", ask, target) + "\n"
    else:
        snippets = corpus.CODE.get(lang, corpus.CODE["other"])
        topic = set(re.findall(r"[a-z]+", ask.topic.lower()))
        chosen = next((s for s in snippets if topic & set(re.findall(r"[a-z]+", s))), None)
        code = chosen or rng.choice(snippets)
        index = snippets.index(code)
        while ask.long and count_tokens(code) < target:
            index += 1
            code += "\n" + snippets[index % len(snippets)]
    return lead + code + "```\n\n" + rng.choice(corpus.AFTER_CODE)


def json_keys(topic: str) -> list[str]:
    """Return the keys a prompt asks for ("the name, size and price" → name, size, price)."""
    found = _WORD_LIST.search(topic)
    if not found:
        return list(corpus.DEFAULT_JSON_KEYS)
    words = re.split(r",\s*(?:and\s+)?|\s+and\s+", found[0])
    return [w.lower() for w in words if w]


def _json(prefix: str, ask: Ask, target: int) -> str:
    # Long outputs grow an "items" array of ~17-token rows up to the target.
    extra = target // 17 if ask.long else 0
    return jsonfill.complete(prefix, json_keys(ask.topic), extra)


def _fresh(topic: str, rng: random.Random, target: int) -> str:
    if is_cjk(topic):
        return corpus.CJK_FRESH_OPENER + _prose("。", rng, target, cjk=True)
    return corpus.FRESH_OPENER + _prose(".", rng, target, cjk=False)


def _tool_answer(results: tuple[tuple[str, str], ...], rng: random.Random, target: int) -> str:
    """Return a text answer that uses each tool result (quoted, so a test can find it)."""
    parts = [f"{name} returned {content.strip()[:300]}" for name, content in results]
    lead = "Thanks for the results. " + "; ".join(parts) + "."
    return lead + _prose(".", rng, max(10, target // 3), cjk=False)


def _reasoning(ask: Ask, rng: random.Random) -> str:
    target = rng.randint(30, 80)
    if ask.reasoning_prefix:
        cjk = is_cjk(ask.reasoning_prefix)
        return _prose(ask.reasoning_prefix, rng, target, cjk, corpus.REASONING)
    parts = [corpus.REASONING[0]]
    while count_tokens(" ".join(parts)) < target:
        parts.append(_pick(rng, corpus.REASONING, parts[-1]))
    return " ".join(parts)


def _fim_middle(prompt: str, suffix: str, rng: random.Random) -> str:
    if not re.search(r"[(){}:;=]", prompt + suffix):
        middle = " " + rng.choice(corpus.CLAUSES)
        return middle + (" " if suffix[:1].isalnum() else "")
    first = next((line for line in suffix.splitlines() if line.strip()), "")
    indent = first[: len(first) - len(first.lstrip())] or "    "
    params = _PARAM.findall(prompt)
    var = params[-1] if params else "n"
    if prompt.rstrip().endswith("{"):
        lines = [f"if ({var} <= 1) {{", f"  return {var};", "}"]
    else:
        lines = [f"if {var} <= 1:", f"    return {var}"]
    lead = "" if prompt.endswith("\n") else "\n"
    tail = "" if suffix.startswith("\n") else "\n"
    return lead + "\n".join(indent + line for line in lines) + tail
