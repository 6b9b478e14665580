"""Worst cases for the two diffs: CPU seconds per diff, which must stay well under one.

    .venv/bin/python bench/diff_worst.py            # every case, best of 3 runs each
    .venv/bin/python bench/diff_worst.py --old      # also time difflib as it was (slow!)

Each case is built to defeat difflib's SequenceMatcher(autojunk=False): few distinct tokens,
long shared starts, many identical lines, one enormous line. The run diff (runs/diff.py)
compares two columns' texts up to its MAX_CHARS per side; the revision diff (prompts/diff.py)
compares template contents whose texts are at most MAX_TEXT_CHARS each. Times are
time.process_time() (CPU of this process), so a busy machine slows them less than wall time.
`--old` runs the pre-budget algorithm on the 16,000-character case only, with a 600 s cap.
"""

from __future__ import annotations

import argparse
import difflib
import os
import platform
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playground.prompts.diff import diff_contents  # noqa: E402
from playground.runs.diff import MAX_CHARS, TOKEN_RE, compare  # noqa: E402

WORDS = [
    "the",
    "a",
    "of",
    "to",
    "and",
    "in",
    "is",
    "it",
    "that",
    "for",
    "on",
    "with",
    "as",
    "was",
    "be",
    "by",
    "this",
    "are",
    "or",
    "at",
]


def words(count: int, seed: int, alphabet: list[str] = WORDS) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(alphabet) for _ in range(count))


def prompt_16k(seed: int) -> str:
    return (words(4_000, 1) + "\n")[:16_000] + words(300, seed)


def run_cases() -> dict[str, tuple[str, str]]:
    big = MAX_CHARS
    return {
        "16,000-char shared prompt, different endings (the report)": (
            prompt_16k(2),
            prompt_16k(3),
        ),
        "16,000 chars, two unrelated texts of common words": (
            words(4_000, 4)[:16_000],
            words(4_000, 5)[:16_000],
        ),
        "16,000 chars: 'a ' x 8,000 vs 'b ' x 8,000": ("a " * 8_000, "b " * 8_000),
        "16,000 chars: 'a b ' vs 'b a ' repeated": ("a b " * 4_000, "b a " * 4_000),
        "16,000 newlines vs 'x\\n' x 8,000": ("\n" * 16_000, "x\n" * 8_000),
        f"{big:,} chars each, unrelated common words": (
            words(big // 3, 6)[:big],
            words(big // 3, 7)[:big],
        ),
        f"{big:,} chars each, three-letter alphabet": (
            words(big // 2, 8, ["a", "b", "c"])[:big],
            words(big // 2, 9, ["a", "b", "c"])[:big],
        ),
        f"{big:,} chars each, 1 change every 50 lines": (
            "".join(f"line {n % 97} of the text\n" for n in range(big // 20))[:big],
            "".join(
                f"line {n % 97} of {'THE' if n % 50 == 0 else 'the'} text\n"
                for n in range(big // 20)
            )[:big],
        ),
        f"{big * 2:,} chars each (cut to {big:,})": ("x " * big, "y " * big),
    }


def _content(**texts: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "T",
        "description": "",
        "category": "other",
        "tags": [],
        "system": "",
        "turns": [],
        "prefix": "",
        "reasoning_prefix": "",
        "suffix": "",
        "stop": [],
        "parameters": {"temperature": None, "max_tokens": None, "top_p": None},
        "variables": [],
    }
    return {**base, **texts}


def revision_cases() -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    turns_a = [{"role": "user", "content": words(700, n), "images": []} for n in range(50)]
    turns_b = [{"role": "user", "content": words(700, n + 100), "images": []} for n in range(50)]
    return {
        "8,000-char prefix rewritten (the report)": (
            _content(prefix=words(2_000, 10)[:8_000]),
            _content(prefix=words(2_000, 11)[:8_000]),
        ),
        "100,000-char one-line prefix, few distinct words": (
            _content(prefix=words(50_000, 12, ["a", "b"])[:100_000]),
            _content(prefix=words(50_000, 13, ["a", "b"])[:100_000]),
        ),
        "100,000 newlines vs 'x\\n' x 50,000": (
            _content(prefix="\n" * 100_000),
            _content(prefix="x\n" * 50_000),
        ),
        "100,000 chars of short lines, every line changed": (
            _content(prefix="a b\n" * 25_000),
            _content(prefix="b a\n" * 25_000),
        ),
        "system, prefix, suffix 100,000 chars each, all different": (
            _content(
                system=words(30_000, 14)[:100_000],
                prefix=words(30_000, 15)[:100_000],
                suffix=words(30_000, 16)[:100_000],
            ),
            _content(
                system=words(30_000, 17)[:100_000],
                prefix=words(30_000, 18)[:100_000],
                suffix=words(30_000, 19)[:100_000],
            ),
        ),
        "50 turns of ~3,000 chars, all rewritten": (
            _content(turns=turns_a),
            _content(turns=turns_b),
        ),
    }


def best_cpu(action: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.process_time()
        result = action()
        best = min(best, time.process_time() - start)
    return best, result


def old_word_diff(left: str, right: str) -> int:
    a, b = TOKEN_RE.findall(left), TOKEN_RE.findall(right)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return len(matcher.get_opcodes()) + int(matcher.ratio())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--old", action="store_true", help="also time the old algorithm")
    args = parser.parse_args()
    print(f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs")
    print(f"load average at start: {os.getloadavg()[0]:.2f}\n")
    print("| Run diff case | tokens (left + right) | CPU s | pieces | coarse |")
    print("|---|---:|---:|---:|---|")
    worst = 0.0
    for name, (left, right) in run_cases().items():
        seconds, result = best_cpu(lambda: compare(left, right), args.repeat)  # noqa: B023
        worst = max(worst, seconds)
        tokens = len(TOKEN_RE.findall(left[:MAX_CHARS])) + len(TOKEN_RE.findall(right[:MAX_CHARS]))
        print(
            f"| {name} | {tokens:,} | {seconds:.3f} | {len(result.pieces):,} | "
            f"{'yes' if result.coarse else 'no'} |"
        )
    print("\n| Revision diff case | CPU s | rows | coarse fields |")
    print("|---|---:|---:|---:|")
    for name, (old, new) in revision_cases().items():
        seconds, fields = best_cpu(lambda: diff_contents(old, new), args.repeat)  # noqa: B023
        worst = max(worst, seconds)
        rows = sum(len(field.lines) for field in fields)
        coarse = sum(1 for field in fields if field.note)
        print(f"| {name} | {seconds:.3f} | {rows:,} | {coarse} |")
    print(f"\nworst case: {worst:.3f} CPU seconds")
    if args.old:
        left, right = run_cases()["16,000-char shared prompt, different endings (the report)"]
        seconds, _ = best_cpu(lambda: old_word_diff(left, right), 1)
        print(f"old algorithm, 16,000-char shared prompt: {seconds:.1f} CPU seconds")


if __name__ == "__main__":
    main()
