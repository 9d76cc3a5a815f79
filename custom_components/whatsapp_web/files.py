"""Saving a message's file to disk without letting a sender choose what lands where.

The sender controls a file's name and declared type, so neither decides the saved name: a file saved
into a folder is ``<message id>.<extension of its type>``. Types a browser runs (HTML, SVG, XML,
JavaScript) are refused, because a folder such as ``/config/www`` is served without authentication on
Home Assistant's own origin. The file is created with ``O_EXCL | O_NOFOLLOW`` (or written beside the
target and renamed over it when replacing), so a symlink planted under the target's name cannot carry
the write outside the allowed folder.
"""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path
import re
from typing import TYPE_CHECKING, Final
import uuid

from .operations.errors import OperationError

if TYPE_CHECKING:
    from collections.abc import Callable

# Types a browser renders as a document or runs as script.
_ACTIVE_TYPES: Final = frozenset(
    {
        "text/html",
        "application/xhtml+xml",
        "image/svg+xml",
        "text/xml",
        "application/xml",
        "text/xsl",
        "application/xslt+xml",
        "text/javascript",
        "application/javascript",
        "application/x-javascript",
        "application/ecmascript",
        "text/ecmascript",
        "text/jscript",
        "application/x-shockwave-flash",
        "text/x-server-parsed-html",
        "application/x-httpd-php",
    }
)
_ACTIVE_EXTENSIONS: Final = frozenset(
    {
        ".htm",
        ".html",
        ".shtml",
        ".xhtml",
        ".xht",
        ".svg",
        ".svgz",
        ".xml",
        ".xsl",
        ".xslt",
        ".js",
        ".mjs",
        ".cjs",
        ".swf",
        ".php",
        ".mht",
        ".mhtml",
    }
)
# The usual extension of what WhatsApp carries, where the system's table would pick an odd one.
_EXTENSIONS: Final = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "video/mp4": ".mp4",
    "video/3gpp": ".3gp",
    "audio/ogg": ".ogg",
    "audio/mpeg": ".mp3",
    "audio/mp4": ".m4a",
    "audio/aac": ".aac",
    "audio/amr": ".amr",
    "audio/wav": ".wav",
    "application/pdf": ".pdf",
    "text/plain": ".txt",
    "text/vcard": ".vcf",
    "application/octet-stream": ".bin",
}
_SAFE_EXTENSION: Final = re.compile(r"\.[a-z0-9]{1,10}")
_UNSAFE_NAME_CHARACTERS: Final = re.compile(r"[^A-Za-z0-9_-]")
_MAX_STEM: Final = 120


def media_type(mimetype: str) -> str:
    """``type/subtype`` of a MIME type, lower case, without parameters."""
    return mimetype.split(";", 1)[0].strip().lower()


def is_active_content(mimetype: str) -> bool:
    """Whether a browser would render or run a file of this type."""
    kind = media_type(mimetype)
    return (
        kind in _ACTIVE_TYPES
        or kind.endswith(("+xml", "/xml"))
        or "javascript" in kind
        or "ecmascript" in kind
        or "html" in kind
    )


def extension_for(mimetype: str) -> str:
    """The extension a saved file of this type gets; ``.bin`` when unknown or unsafe."""
    kind = media_type(mimetype)
    extension = _EXTENSIONS.get(kind) or mimetypes.guess_extension(kind) or ".bin"
    extension = extension.lower()
    if not _SAFE_EXTENSION.fullmatch(extension) or extension in _ACTIVE_EXTENSIONS:
        return ".bin"
    return extension


def saved_file_name(message_id: str, mimetype: str) -> str:
    """``<message id>.<extension>``, the id reduced to letters, digits, ``_`` and ``-``."""
    stem = _UNSAFE_NAME_CHARACTERS.sub("_", message_id)[:_MAX_STEM] or "media"
    return f"{stem}{extension_for(mimetype)}"


def refuse_active_content(target: str, mimetype: str) -> None:
    """Refuse to put a file a browser would run on disk, whatever its type or target says."""
    if is_active_content(mimetype) or Path(target).suffix.lower() in _ACTIVE_EXTENSIONS:
        raise OperationError(
            "active_content_refused",
            400,
            f"files of type {media_type(mimetype)} or named {Path(target).name} are not saved: "
            "a browser would run them",
            field="path",
            placeholders={"mimetype": media_type(mimetype), "path": target},
        )


def write_new_file(
    target: Path, content: bytes, *, overwrite: bool, is_allowed: Callable[[str], bool]
) -> Path:
    """Write ``content`` to ``target`` (in the executor); the path written.

    The folder is resolved and checked again here, right before the write. Without ``overwrite`` the
    file is created with ``O_EXCL | O_NOFOLLOW``: anything already there, a dangling symlink included,
    is a conflict. With ``overwrite`` the bytes go to a new file beside it, renamed over the name: a
    symlink there is replaced, never followed.
    """
    try:
        folder = target.parent.resolve(strict=True)
    except OSError as error:
        raise _write_failed(target, error) from error
    final = folder / target.name
    if not target.name or not is_allowed(str(final)):
        raise OperationError(
            "path_not_allowed",
            403,
            f"{final} is not in allowlist_external_dirs",
            field="path",
            placeholders={"path": str(final)},
        )
    folder_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        if overwrite:
            temporary = f".{target.name[:100]}.{uuid.uuid4().hex}.part"
            _create_and_write(temporary, folder_fd, content, final)
            try:
                os.replace(temporary, target.name, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
            except OSError as error:
                os.unlink(temporary, dir_fd=folder_fd)
                raise _write_failed(final, error) from error
        else:
            _create_and_write(target.name, folder_fd, content, final)
    finally:
        os.close(folder_fd)
    return final


def _create_and_write(name: str, folder_fd: int, content: bytes, shown: Path) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        file_fd = os.open(name, flags, 0o644, dir_fd=folder_fd)
    except FileExistsError as error:
        raise OperationError(
            "file_exists",
            409,
            f"{shown} already exists",
            field="path",
            placeholders={"path": str(shown)},
        ) from error
    except OSError as error:
        raise _write_failed(shown, error) from error
    try:
        with os.fdopen(file_fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as error:
        os.unlink(name, dir_fd=folder_fd)
        raise _write_failed(shown, error) from error


def _write_failed(target: Path, error: OSError) -> OperationError:
    reason = error.strerror or type(error).__name__
    return OperationError(
        "file_write_failed",
        400,
        f"{target} cannot be written: {reason}",
        field="path",
        placeholders={"path": str(target), "error": reason},
    )
