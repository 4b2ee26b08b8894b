"""Provides the per-job limits and per-model enqueued-token budgets that decide splitting and wave scheduling.

Read from the config file (`config.json`), overridable per run (CLI flags):

    {"limits": {"max_requests_per_job": 10000, "max_bytes_per_job": 2000000000,
                "queue_backoff_initial": 30, "queue_backoff_max": 900},
     "enqueued_token_budget": {"gemini-2.5-flash": 3000000, "*": 1000000}}

- `max_requests_per_job`: no default (Google documents no request-count limit for file batches).
- `max_bytes_per_job`: default 2 GiB, the Files API's limit per file; counted on the uploaded copy.
- `enqueued_token_budget`: the user's tier limit on estimated prompt tokens of pending and running jobs, per
  model (bare id, as in `gemini-2.5-flash`); `"*"` applies to every model not named. No defaults: the numbers
  depend on the tier and change, so a model without an entry has no budget (unlimited). A bare number instead
  of an object is the budget for every model.
- `queue_backoff_*`: seconds before a part that got 429 at create is tried again (doubling up to the maximum).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gembatch_tui.core.api.pricing import ConfigError, normalise_model
from gembatch_tui.core.submit.validate import MAX_FILE_BYTES

DEFAULT_MAX_BYTES = MAX_FILE_BYTES
DEFAULT_BACKOFF_INITIAL = 30.0
DEFAULT_BACKOFF_MAX = 900.0
ANY_MODEL = "*"


@dataclass(frozen=True)
class JobLimits:
    """When to split an input, and how much may be enqueued per model at once."""

    max_requests_per_job: int | None = None
    max_bytes_per_job: int | None = DEFAULT_MAX_BYTES
    token_budgets: Mapping[str, int] = field(default_factory=dict)
    backoff_initial: float = DEFAULT_BACKOFF_INITIAL
    backoff_max: float = DEFAULT_BACKOFF_MAX

    def budget_for(self, model: str) -> int | None:
        """The enqueued-token budget of `model` (with or without `models/`), or None for unlimited."""
        name = normalise_model(model)
        if name in self.token_budgets:
            return self.token_budgets[name]
        return self.token_budgets.get(ANY_MODEL)

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after the `attempt`-th (1-based) 429 in a row."""
        return min(self.backoff_max, self.backoff_initial * (2 ** max(0, attempt - 1)))

    def with_overrides(self, *, max_requests: int | None = None, max_bytes: int | None = None) -> JobLimits:
        """A copy with the CLI's `--max-requests-per-job` / `--max-bytes-per-job` applied (None keeps the value)."""
        out = self
        if max_requests is not None:
            out = replace(out, max_requests_per_job=max_requests)
        if max_bytes is not None:
            out = replace(out, max_bytes_per_job=max_bytes)
        return out

    @classmethod
    def from_config(cls, data: Mapping[str, Any], where: str = "config") -> JobLimits:
        """Parse the `limits` and `enqueued_token_budget` keys of a config object; ConfigError when malformed."""
        limits = data.get("limits")
        limits = {} if limits is None else limits
        if not isinstance(limits, dict):
            raise ConfigError(f'{where}: "limits" must be an object')
        unknown = set(limits) - {"max_requests_per_job", "max_bytes_per_job", "queue_backoff_initial", "queue_backoff_max"}
        if unknown:
            raise ConfigError(f'{where}: "limits" has unknown field(s): {", ".join(sorted(unknown))}')
        out = cls(
            max_requests_per_job=_positive_int(limits, "max_requests_per_job", None, where),
            max_bytes_per_job=_positive_int(limits, "max_bytes_per_job", DEFAULT_MAX_BYTES, where),
            backoff_initial=_seconds(limits, "queue_backoff_initial", DEFAULT_BACKOFF_INITIAL, where),
            backoff_max=_seconds(limits, "queue_backoff_max", DEFAULT_BACKOFF_MAX, where),
        )
        raw = data.get("enqueued_token_budget")
        budgets: dict[str, int] = {}
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            budgets[ANY_MODEL] = _as_budget(raw, f"{where}: enqueued_token_budget")
        elif isinstance(raw, dict):
            for model, value in raw.items():
                budgets[normalise_model(str(model))] = _as_budget(value, f'{where}: enqueued_token_budget["{model}"]')
        elif raw is not None:
            raise ConfigError(f'{where}: "enqueued_token_budget" must be an object like {{"gemini-2.5-flash": 3000000}}')
        return replace(out, token_budgets=budgets)

    @classmethod
    def load(cls, path: Path | None) -> JobLimits:
        """From a config file; a missing or unreadable file gives the defaults (the CLI reports bad files itself)."""
        if path is None:
            return cls()
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        return cls.from_config(data, str(path)) if isinstance(data, dict) else cls()


def _positive_int(obj: Mapping[str, Any], name: str, default: int | None, where: str) -> int | None:
    if name not in obj or obj[name] is None:
        return default
    value = obj[name]
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{where}: limits.{name} must be a positive whole number, not {value!r}")
    return value


def _seconds(obj: Mapping[str, Any], name: str, default: float, where: str) -> float:
    value = obj.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ConfigError(f"{where}: limits.{name} must be a number of seconds, not {value!r}")
    return float(value)


def _as_budget(value: Any, label: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{label} must be a positive number of tokens, not {value!r}")
    return int(value)
