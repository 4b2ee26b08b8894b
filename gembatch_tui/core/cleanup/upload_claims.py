"""Provides who holds a claim on a remote file: the records that use it, the submissions that may still take it,
and the upload tags that are this store's.

Why apart from the plan: both the plan (which uploads are orphans) and execute.py (is that still so, right before
the delete) ask these questions, about the records as they are at each moment.
"""

from __future__ import annotations

import re

from gembatch_tui.core.api import upload_tokens
from gembatch_tui.core.models import Record


CLAIMING_STATES = ("submitting", "queued")
"""A record in one of these local states may still take the upload its `upload_token` names."""


def referenced(records: list[Record]) -> set[str]:
    """Every remote file name a record uses: its input, output and media, and those of its earlier attempts."""
    out: set[str] = set()

    def add(rec: Record) -> None:
        if isinstance(rec.get("uploaded_file_name"), str):
            out.add(rec["uploaded_file_name"])
        batch = rec.get("batch") if isinstance(rec.get("batch"), dict) else {}
        dest = batch.get("dest") if isinstance(batch.get("dest"), dict) else {}
        if isinstance(dest.get("file_name"), str):
            out.add(dest["file_name"])
        media = rec.get("media_file_names")
        if isinstance(media, list):
            out.update(str(m) for m in media if m)

    for rec in records:
        if not isinstance(rec, dict):
            continue
        add(rec)
        history = rec.get("previous_attempts")
        for attempt in history if isinstance(history, list) else []:
            if isinstance(attempt, dict):
                add(attempt)
    return out


def claimed_tokens(records: list[Record]) -> set[str]:
    """The upload tokens of records being submitted or queued: their upload may still appear, or be taken."""
    return {str(r["upload_token"]) for r in records
            if isinstance(r, dict) and r.get("upload_token") and r.get("local_state") in CLAIMING_STATES}


_STORE_TAG = re.compile(r"^[0-9a-f]{8}$")
"""What a store's tag looks like (upload_tokens.store_tag). Media uploads carry a token with a tag that is not hex
(`mediaupl`): they are shared between stores through the URI cache, so never any store's orphans."""


def our_tags(records: list[Record], store_tag: str | None) -> set[str]:
    """Whose uploads are provably ours: this store's tag; when the caller cannot name it (a screen re-flagging an
    old listing), the tags of the tokens this store's records hold, which only this store wrote."""
    if store_tag:
        tags = {store_tag}
    else:
        tags = {upload_tokens.tag_of(str(r["upload_token"])) for r in records
                if isinstance(r, dict) and isinstance(r.get("upload_token"), str) and r.get("upload_token")}
    return {t for t in tags if _STORE_TAG.match(t)}
