"""Provides the one rule for a remote delete whose target is already gone: that is success.

Why: a clean-up, a delete and a cancel of a queued job all delete remote things that another clean-up or the 48 h
expiry may have removed first; each must read that answer the same way, and only for the calls that name a target.
"""

from __future__ import annotations

from gembatch_tui.core.errors import ServiceError


BATCH_GONE = frozenset({404})
FILE_GONE = frozenset({403, 404})
"""Answers that mean "already gone". An unknown batch is 404; a deleted or expired file is 403 PERMISSION_DENIED
("... or it may not exist"), which for a file this tool recorded means gone, not forbidden. A 403 on a call that
names no file (list, create) is never taken for gone: those do not go through here."""


def delete_remote(fn, target: str, gone: frozenset[int] = BATCH_GONE) -> None:  # noqa: ANN001
    """Delete; an answer in `gone` means someone (another clean-up, the 48 h expiry) already did: success."""
    try:
        fn(target)
    except ServiceError as exc:
        if exc.code in gone:
            return
        raise
