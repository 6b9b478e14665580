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


def check_quota(count: int, stored: int, size: int) -> None:
    """Raise RejectedImage when one more upload of `size` bytes is over the user's quota.

    `count` and `stored` are what the user already keeps: uploads live in the database, so
    each user may keep MAX_IMAGES_PER_USER images of MAX_IMAGE_STORAGE_MB in all.
    """
    most = settings.MAX_IMAGES_PER_USER
    room = settings.MAX_IMAGE_STORAGE_MB * 1_048_576
    if count >= most:
        raise RejectedImage(
            f"You have uploaded {count} images, the most this site keeps per user "
            f"({most}, MAX_IMAGES_PER_USER). Use an image URL instead."
        )
    if stored + size > room:
        raise RejectedImage(
            f"Your uploaded images take {stored / 1_048_576:.1f} MB; this one would pass the "
            f"{room / 1_048_576:.0f} MB each user may keep (MAX_IMAGE_STORAGE_MB). "
            "Use an image URL instead."
        )


def check(data: bytes) -> str:
    """Return the content type of an acceptable image; raise RejectedImage otherwise."""
    check_size(len(data))
    content_type = sniff(data)
    if content_type is None:
        raise RejectedImage("That file is not a PNG, JPEG, GIF or WebP image.")
    return content_type
