"""Provides the service's bearer token: made once (`secrets.token_urlsafe`), kept 0600 in the config dir, compared
in constant time.

Why a file: a token that changed on every start would break every client at each restart; one kept beside the
config, readable only by the user, is found again (and can be rotated by deleting the file).
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from gembatch_tui.core import paths

TOKEN_FILE_NAME = "server-token"


class TokenFileError(Exception):
    """The token file cannot be read or written: a one-line message naming it."""


def token_path() -> Path:
    """`<config dir>/server-token` (`$GEMBATCH_TUI_HOME/server-token` when that is set), beside config.json."""
    return paths.config_file().parent / TOKEN_FILE_NAME


def load_or_create(path: Path) -> tuple[str, bool]:
    """(token, created): the token kept in `path`, or a new one written there with mode 0600 (created only now).
    A token file others can read is made private again, since the token is as good as a password."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        text = ""
    except OSError as exc:
        raise TokenFileError(f"{path}: cannot read the server token: {exc.strerror or exc}") from None
    if text:
        try:
            if os.stat(path).st_mode & 0o077:
                os.chmod(path, 0o600)
        except OSError as exc:
            raise TokenFileError(f"{path}: cannot make the server token private: {exc.strerror or exc}") from None
        return text, False
    token = secrets.token_urlsafe(32)
    try:
        paths.ensure_private_dir(path.parent)
        if path.exists():  # an empty file: replace it
            path.unlink()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(token + "\n")
    except OSError as exc:
        raise TokenFileError(f"{path}: cannot write the server token: {exc.strerror or exc}") from None
    return token, True


def bearer_matches(header: bytes | None, token: str) -> bool:
    """True when an `Authorization` header value is `Bearer <token>`; the comparison takes the same time whatever
    part of the token is wrong."""
    if not header:
        return False
    scheme, _, given = header.partition(b" ")
    if scheme.lower() != b"bearer":
        return False
    return hmac.compare_digest(given.strip(), token.encode("utf-8"))


__all__ = ["TOKEN_FILE_NAME", "TokenFileError", "bearer_matches", "load_or_create", "token_path"]
