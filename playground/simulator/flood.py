"""The `flood` fault: a model that never stops talking, its output made as it is sent.

`-fault-flood` streams `-mb<N>` megabytes of text (10^6 characters each; 200 by default), as
fast as the client reads it, with no pacing. The text is one 64-character line repeated, sent in
deltas of 4,096 characters: one delta is built once and sent again and again, so the
simulator holds a few kilobytes however large the flood is. Without streaming, the JSON body is
written the same way, in pieces, around the text. A client that closes the connection stops the
flood at once (`run_watched` cancels the response); the request record's `bytes_sent` tells how
much went out before that.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from playground.simulator.exchange import encode_json
from playground.simulator.generate import Delta, Generation, count_tokens

DEFAULT_MB = 200.0
MEGABYTE = 1_000_000  # characters of text; the text is ASCII, so bytes too
LINE = "The water keeps rising, and the model keeps on talking about it "
DELTA_CHARS = 64 * len(LINE)  # whole lines: the pieces join into the line, repeated
# Stands for the text in a whole body until `body_pieces` writes the flood in its place.
PLACEHOLDER = "\x00flood\x00"


def flood_chars(mb: float | None) -> int:
    """Return how many characters a flood of `mb` megabytes (None: the default) writes."""
    return max(0, int((DEFAULT_MB if mb is None else mb) * MEGABYTE))


def _block(chars: int) -> str:
    return (LINE * (chars // len(LINE) + 1))[:chars]


def flood_pieces(chars: int, piece: int = DELTA_CHARS) -> Iterator[str]:
    """Yield `chars` characters of flood text in pieces of `piece`, without ever joining them."""
    block = _block(piece)
    full, rest = divmod(chars, piece)
    for _ in range(full):
        yield block
    if rest:
        yield block[:rest]


def flood_deltas(chars: int) -> Iterator[Delta]:
    """Yield the flood's content deltas, lazily."""
    tokens = count_tokens(_block(DELTA_CHARS))
    for text in flood_pieces(chars):
        yield Delta("content", text, tokens if len(text) == DELTA_CHARS else count_tokens(text))


def flood_generation(gen: Generation, chars: int) -> Generation:
    """Return `gen` as the flood ends it: no reasoning, the flood's token count, cut by length.

    The text itself is left empty: it is never held, only counted.
    """
    full, rest = divmod(chars, DELTA_CHARS)
    tokens = full * count_tokens(_block(DELTA_CHARS)) + count_tokens(_block(rest))
    return replace(
        gen,
        reasoning="",
        text="",
        finish="length",
        stop_sequence=None,
        output_tokens=tokens,
        reasoning_tokens=0,
    )


def body_pieces(body: dict[str, object], chars: int) -> Iterator[bytes]:
    """Yield a whole JSON body whose text is the flood: the JSON around it, then the text.

    `body` is a dialect's response object built with `PLACEHOLDER` as the text; the flood
    needs no JSON escaping (it is plain ASCII prose), so its pieces go out as they are.
    """
    head, found, tail = encode_json(body).partition(encode_json(PLACEHOLDER)[1:-1])
    if not found:
        raise ValueError("The body does not carry the flood's placeholder text")
    yield head
    for text in flood_pieces(chars, 16 * DELTA_CHARS):
        yield text.encode()
    yield tail
