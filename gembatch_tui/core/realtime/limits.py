"""Provides the limits of a real-time run: requests and input tokens per minute for its model, and how many requests
are in flight at once, from the command line, else the config's `realtime` section, else the defaults here.

Why conservative defaults: the real limits depend on the account's tier (a free tier allows a handful of requests a
minute, a paid one hundreds or thousands), and going over them costs only time (every 429 is honoured), while a
limit set too high for a free tier answers mostly 429s. Config, for example:

    {"realtime": {"concurrency": 8,
                  "limits": {"gemini-2.5-flash": {"rpm": 1000, "tpm": 1000000}, "*": {"rpm": 60}}}}

A model's entry may give one of the two numbers; the other comes from `*`, then from the defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEFAULT_RPM = 60
DEFAULT_TPM = 1_000_000
DEFAULT_CONCURRENCY = 8
MAX_CONCURRENCY = 64


class LimitsError(ValueError):
    """A `realtime` config section that cannot be used; the message names the key."""


@dataclass(frozen=True)
class RealtimeLimits:
    rpm: int | None  # requests a minute (None: no limit of ours; the server's 429s still hold)
    tpm: int | None  # estimated input tokens a minute
    concurrency: int  # requests in flight at once

    def describe(self) -> str:
        rpm = f"{self.rpm:,} requests/min" if self.rpm else "no request limit"
        tpm = f"{self.tpm:,} tokens/min" if self.tpm else "no token limit"
        return f"{rpm}, {tpm}, {self.concurrency} at once"


def _positive(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise LimitsError(f"config {where} must be a positive whole number, not {value!r}")
    return value


def limits_for(
    config: dict[str, Any],
    model: str,
    *,
    rpm: int | None = None,
    tpm: int | None = None,
    concurrency: int | None = None,
) -> RealtimeLimits:
    """The limits for `model` (`gemini-2.5-flash` or `models/...`): the arguments win over the config, the config
    over the defaults. Raises LimitsError for a malformed `realtime` section."""
    section = config.get("realtime") if isinstance(config, dict) else None
    if section is None:
        section = {}
    if not isinstance(section, dict):
        raise LimitsError('config "realtime" must be an object like {"concurrency": 8, "limits": {...}}')
    table = section.get("limits") or {}
    if not isinstance(table, dict):
        raise LimitsError('config realtime.limits must be an object like {"MODEL": {"rpm": 60, "tpm": 1000000}}')
    name = model.removeprefix("models/")
    found: dict[str, int] = {}
    for entry_name in (name, "*"):
        entry = table.get(entry_name)
        if entry is None:
            continue
        if not isinstance(entry, dict):
            raise LimitsError(f'config realtime.limits["{entry_name}"] must be an object with "rpm" and/or "tpm"')
        for field in ("rpm", "tpm"):
            if field in entry and field not in found:
                found[field] = _positive(entry[field], f'realtime.limits["{entry_name}"].{field}')
    width = concurrency
    if width is None:
        width = _positive(section["concurrency"], "realtime.concurrency") if "concurrency" in section \
            else DEFAULT_CONCURRENCY
    return RealtimeLimits(
        rpm=rpm if rpm is not None else found.get("rpm", DEFAULT_RPM),
        tpm=tpm if tpm is not None else found.get("tpm", DEFAULT_TPM),
        concurrency=max(1, min(MAX_CONCURRENCY, width)),
    )
