"""Uploaded images: what is accepted, recognised by content rather than by name or header."""

from __future__ import annotations

from django.conf import settings

# Signatures of the formats every vision provider accepts.
SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


class RejectedImage(ValueError):
    """An upload that is not accepted; the message says why, for the page."""


def sniff(data: bytes) -> str | None:
    """Return the image type `data` starts like, or None."""
    for signature, content_type in SIGNATURES:
        if data.startswith(signature):
            return content_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def check_size(size: int) -> None:
    """Raise RejectedImage when an upload of `size` bytes is empty or over the limit."""
    limit = settings.MAX_IMAGE_UPLOAD_BYTES
    if size == 0:
        raise RejectedImage("The file is empty.")
    if size > limit:
        raise RejectedImage(
            f"The image is {size / 1_048_576:.1f} MB; the limit is "
            f"{limit / 1_048_576:.0f} MB. Resize it or use an image URL."
        )


def check(data: bytes) -> str:
    """Return the content type of an acceptable image; raise RejectedImage otherwise."""
    check_size(len(data))
    content_type = sniff(data)
    if content_type is None:
        raise RejectedImage("That file is not a PNG, JPEG, GIF or WebP image.")
    return content_type
