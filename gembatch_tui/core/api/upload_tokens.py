"""Provides the token that makes every file we upload findable again from its record alone.

An upload whose answer is lost (a reset or a 5xx after the server stored the file) leaves a file we never learnt
the name of. So before an upload the record gets `upload_token`, and the file's display name carries it:
`<display name> [gbt:<store tag>-<random>]`. After an ambiguous failure the file is found by listing files and
matching the token, never by uploading again blindly; and a file whose token carries this store's tag but that no
record uses is provably an orphan of this store (clean-up may remove it).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import socket
from pathlib import Path

MAX_DISPLAY = 512  # the Files API's limit on displayName
_MARK = re.compile(r" \[gbt:([a-z0-9]{8})-([a-z0-9]{12})\]$")


def store_tag(store_path: str | Path) -> str:
    """8 hex digits naming one store on one machine: which store's uploads a token belongs to."""
    seed = f"{socket.gethostname()}\0{Path(store_path).expanduser().absolute()}".encode()
    return hashlib.sha256(seed).hexdigest()[:8]


def new_token(store_path: str | Path | None, *, tag: str | None = None) -> str:
    """A fresh token for one upload: `<store tag>-<12 random [a-z0-9]>` (or another 8-character `tag`)."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    prefix = tag if tag is not None else store_tag(store_path or "")
    return f"{prefix}-{''.join(secrets.choice(alphabet) for _ in range(12))}"


def tagged_display_name(display_name: str, token: str) -> str:
    """The display name an upload is sent with: the user's name (cut to fit) and the token at the end."""
    mark = f" [gbt:{token}]"
    return f"{display_name[: MAX_DISPLAY - len(mark)]}{mark}"


def token_of(display_name: object) -> str | None:
    """The token in a remote file's display name, or None when the file was not uploaded with one."""
    if not isinstance(display_name, str):
        return None
    found = _MARK.search(display_name)
    return f"{found.group(1)}-{found.group(2)}" if found else None


def tag_of(token: str) -> str:
    """The store tag part of a token."""
    return token.split("-", 1)[0]


def plain_display_name(display_name: str) -> str:
    """The display name without our token, as screens show it."""
    return _MARK.sub("", display_name)
