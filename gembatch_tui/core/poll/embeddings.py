"""Provides the summary of an embeddings results file: how many vectors came back and of what dimensions.

Batch embeddings (`batches.create_embeddings`, `asyncBatchEmbedContent`) take lines like
`{"key": "k", "request": {"content": {"parts": [{"text": "..."}]}, "taskType": "RETRIEVAL_DOCUMENT"}}` and
answer `{"key": "k", "response": {"embedding": {"values": [...]}}}`. The summary is stored in the record's
`results_check` (`embeddings`, `embedding_dims`) so that lists and the dashboard can show "768-dim x 1,000".
"""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Any

from gembatch_tui.core.results.check import parse_result_line


def summarise_embeddings(path: str | os.PathLike[str]) -> dict[str, Any]:
    """`{"embeddings": N, "embedding_dims": D}`; D is a sorted list when vectors differ in size, None when there
    are none. Lines that are errors or not JSON are skipped (verification reports those)."""
    dims: Counter[int] = Counter()
    with open(path, "rb") as f:
        for raw in f:
            if raw.isspace():
                continue
            try:
                line = parse_result_line(json.loads(raw))
            except (ValueError, RecursionError):
                continue
            if line.ok and line.embedding_dims is not None:
                dims[line.embedding_dims] += 1
    sizes = sorted(dims)
    return {
        "embeddings": sum(dims.values()),
        "embedding_dims": sizes[0] if len(sizes) == 1 else (sizes or None),
    }


def describe(check: dict[str, Any] | None) -> str | None:
    """`1,000 embeddings of 768 dimensions`, or None for a check without embeddings."""
    if not isinstance(check, dict) or not check.get("embeddings"):
        return None
    dims = check.get("embedding_dims")
    shown = "/".join(str(d) for d in dims) if isinstance(dims, list) else str(dims)
    n = int(check["embeddings"])
    return f"{n:,} embedding{'s' if n != 1 else ''} of {shown} dimensions"
