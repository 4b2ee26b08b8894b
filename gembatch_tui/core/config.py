"""Provides user settings: the resolved command-line options plus the optional JSON config file.

The config file (`<config dir>/config.json`, or `$GEMBATCH_TUI_HOME/config.json`) may hold
`default_model`, `default_embedding_model`, `poll_interval`, `bell`, `max_parallel_polls`, `media_wait_seconds`,
`retry` (`attempts`, `initial_delay`, `max_delay`: the SDK's retry of 408/429/5xx), `limits` and
`enqueued_token_budget` (see core.limits), `prices` (see core.pricing), `on_finish` (core/poll/finish_hooks.py)
and `notify` (how the app says a job finished), and `max_cost_usd`, `output_ratio`, `thinking_tokens` (the
cost estimate and its cap: core/api/pricing.py, core/submit/cost_cap.py), and `profiles` (several API keys:
`{"work": {"key_env": "WORK_GEMINI_KEY", "base_url": "..."}}`, each naming the environment variable that holds
its key, never the key; `--profile NAME` picks one, core/keys.py tells whose jobs are whose).

A key this module does not know (`pol_interval`) would be ignored, so the user would never learn that their
setting has no effect: each one is a warning on the loaded settings (`Settings.warnings`), naming the file, the
key and the likely intended key; the CLI prints them on stderr, the app can show them.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gembatch_tui.core import paths

DEFAULT_MODEL = "gemini-2.5-flash"
DEFAULT_POLL_INTERVAL = 30.0
KNOWN_KEYS = (
    "default_model", "default_embedding_model", "poll_interval", "bell", "max_parallel_polls", "media_wait_seconds",
    "retry", "limits", "enqueued_token_budget", "prices", "on_finish", "notify",
    "max_cost_usd", "output_ratio", "thinking_tokens", "realtime", "profiles",
)
DEFAULT_PROFILE = "default"
"""The profile of the key in GOOGLE_API_KEY / GEMINI_API_KEY (or --api-key): jobs with no key fingerprint are its."""
RETRY_KEYS = ("attempts", "initial_delay", "max_delay")
NOTIFY_CHOICES = ("bell", "osc9", "osc777", "none")
"""`notify`: how the app tells that a job finished (the bell, a desktop notification by OSC 9 / OSC 777, nothing)."""
DEFAULT_HOOK_TIMEOUT = 60.0


class ConfigFileError(Exception):
    pass


MISSING_KEY_MESSAGE = (
    "no API key: set GOOGLE_API_KEY or GEMINI_API_KEY (or pass --api-key), or try --demo to use the built-in emulator"
)
"""What every command and the app say when there is no key."""


@dataclass(frozen=True)
class Profile:
    """A named API key: the environment variable that holds it (the key itself is never stored) and its base URL."""

    name: str
    key_env: str
    base_url: str | None = None

    def key(self) -> str | None:
        return os.environ.get(self.key_env, "").strip() or None


@dataclass
class Settings:
    """Everything a command or the app needs to know about where things are and how to behave."""

    store_path: Path
    results_dir: Path | None = None
    api_key: str | None = field(default=None, repr=False)
    demo: bool = False
    base_url: str | None = None
    default_model: str = DEFAULT_MODEL
    poll_interval: float = DEFAULT_POLL_INTERVAL
    bell: bool = True
    notify: str = "bell"
    on_finish: str | list[str] | None = None  # run once per finished job (core/poll/finish_hooks.py)
    on_finish_timeout: float = DEFAULT_HOOK_TIMEOUT
    max_parallel_polls: int = 32
    max_cost_usd: float | None = None  # refuse a submission whose high cost estimate exceeds it (submit/cost_cap)
    retry_attempts: int = 5
    retry_initial_delay: float = 1.0
    retry_max_delay: float = 30.0
    config_path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # about the config file (unknown keys); never fatal
    profiles: dict[str, Profile] = field(default_factory=dict)  # config `profiles`, by name
    profile: str = DEFAULT_PROFILE  # the one chosen (--profile): submissions use its key
    default_key: str | None = field(default=None, repr=False)  # the env/--api-key key, the "default" profile's
    default_base_url: str | None = None


def env_api_key() -> str | None:
    """The key as the SDK reads it: GOOGLE_API_KEY wins over GEMINI_API_KEY."""
    for name in ("GOOGLE_API_KEY", "GEMINI_API_KEY"):
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def load_config_file(path: Path | None = None) -> dict[str, Any]:
    path = path or paths.config_file()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigFileError(f"{path}: cannot read config: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigFileError(f"{path}:{exc.lineno}: config is not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise ConfigFileError(f"{path}: config must be a JSON object")
    return data


def unknown_key_warnings(data: dict[str, Any], path: Path | str) -> list[str]:
    """One warning per key of the config (and of its `retry` object) that nothing reads, with the likely
    intended key when one is close (difflib)."""
    found = _unknown(data, KNOWN_KEYS, path, "")
    retry = data.get("retry")
    if isinstance(retry, dict):
        found += _unknown(retry, RETRY_KEYS, path, "retry.")
    return found


def _unknown(obj: dict[str, Any], known: tuple[str, ...], path: Path | str, prefix: str) -> list[str]:
    out = []
    for key in obj:
        if key in known:
            continue
        name = str(key)
        match = difflib.get_close_matches(name.lower(), known, 1, 0.6)
        hint = f"; did you mean {prefix + match[0]!r}?" if match else f"; known keys: {', '.join(known)}"
        out.append(f"{path}: warning: unknown config key {prefix + name!r} is ignored{hint}")
    return out


def bounded(data: dict, key: str, kind: type, floor: float, where: str, what: str, default: Any = None) -> Any:
    """`data[key]` read as `kind` (int or float), raised to `floor`; a value that is not a number is a
    ConfigFileError naming the file and the key (absent: `default`)."""
    if key not in data:
        return default
    value = data[key]
    try:
        if isinstance(value, bool):
            raise TypeError
        number = kind(value)
    except (TypeError, ValueError):
        raise ConfigFileError(f"{where}: {key} must be {what}") from None
    return max(kind(floor), number)


def build_settings(
    *,
    store: str | None,
    results_dir: str | None,
    api_key: str | None,
    demo: bool,
    profile: str | None = None,
) -> Settings:
    config_path = paths.config_file()
    data = load_config_file(config_path)
    settings = Settings(
        store_path=Path(store).expanduser().absolute() if store else paths.default_store_path(demo),
        results_dir=Path(results_dir).expanduser().absolute() if results_dir else None,
        api_key=(api_key.strip() if api_key else None) or (None if demo else env_api_key()),
        demo=demo,
        base_url=os.environ.get("GOOGLE_GEMINI_BASE_URL") or None,
        config_path=config_path,
        extra=data,
        warnings=unknown_key_warnings(data, config_path),
    )
    if "default_model" in data:
        settings.default_model = str(data["default_model"])
    where = str(config_path)
    if "poll_interval" in data:
        settings.poll_interval = bounded(data, "poll_interval", float, 1.0, where, "a number of seconds")
    retry = data.get("retry")
    if retry is not None:
        if not isinstance(retry, dict):
            raise ConfigFileError(f"{config_path}: retry must be an object with attempts, initial_delay, max_delay")
        settings.retry_attempts = bounded(retry, "attempts", int, 1, where, "a whole number", settings.retry_attempts)
        settings.retry_initial_delay = bounded(retry, "initial_delay", float, 0.0, where, "a number of seconds",
                                               settings.retry_initial_delay)
        settings.retry_max_delay = bounded(retry, "max_delay", float, 0.0, where, "a number of seconds",
                                           settings.retry_max_delay)
    if "bell" in data:
        settings.bell = bool(data["bell"])
    settings.notify = str(data.get("notify", "bell" if settings.bell else "none"))
    if settings.notify not in NOTIFY_CHOICES:
        raise ConfigFileError(f"{where}: notify must be one of {', '.join(NOTIFY_CHOICES)}")
    if data.get("on_finish") is not None:
        settings.on_finish, settings.on_finish_timeout = _on_finish(data["on_finish"], where)
    if "max_parallel_polls" in data:
        settings.max_parallel_polls = bounded(data, "max_parallel_polls", int, 1, where, "a whole number")
    if data.get("max_cost_usd") is not None:
        settings.max_cost_usd = bounded(data, "max_cost_usd", float, 0.0, where, "a number of US dollars")
    settings.default_key, settings.default_base_url = settings.api_key, settings.base_url
    settings.profiles = _profiles(data.get("profiles"), where)
    if profile and not demo:
        choose_profile(settings, profile)
    return settings


def choose_profile(settings: Settings, name: str) -> None:
    """Make profile `name` the one whose key submits (--profile, the app's profile switcher); ConfigFileError
    naming the known profiles when there is no such profile."""
    if name == DEFAULT_PROFILE:
        settings.profile, settings.api_key, settings.base_url = name, settings.default_key, settings.default_base_url
        return
    chosen = settings.profiles.get(name)
    if chosen is None:
        known = ", ".join([DEFAULT_PROFILE, *settings.profiles])
        raise ConfigFileError(f"--profile {name!r}: no such profile in {settings.config_path} (known: {known})")
    settings.profile = name
    settings.api_key = chosen.key()
    settings.base_url = chosen.base_url or settings.default_base_url


def profile_missing_key_message(settings: Settings) -> str:
    """What a command says when the chosen profile's key is not set."""
    chosen = settings.profiles.get(settings.profile)
    if chosen is None:
        return MISSING_KEY_MESSAGE
    return f"no API key for profile {chosen.name!r}: set the environment variable {chosen.key_env}"


def _profiles(value: Any, where: str) -> dict[str, Profile]:
    """Config `profiles`: an object of NAME -> {"key_env": VAR, "base_url": URL (optional)}."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigFileError(f"{where}: profiles must be an object of NAME -> {{\"key_env\": VARIABLE}}")
    out: dict[str, Profile] = {}
    for name, spec in value.items():
        env = spec.get("key_env") if isinstance(spec, dict) else None
        if name == DEFAULT_PROFILE:
            raise ConfigFileError(f"{where}: profiles: {name!r} is reserved for GOOGLE_API_KEY / GEMINI_API_KEY")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}", str(name)):
            raise ConfigFileError(f"{where}: profiles: {name!r} is not a profile name (letters, digits, _ . -; "
                                  "at most 40)")
        if not isinstance(env, str) or not env.strip():
            raise ConfigFileError(f"{where}: profiles.{name}.key_env must name the environment variable that holds "
                                  "the key (the key itself is never put in the config)")
        base = spec.get("base_url")
        if base is not None and not isinstance(base, str):
            raise ConfigFileError(f"{where}: profiles.{name}.base_url must be a URL string")
        out[str(name)] = Profile(str(name), env.strip(), base or None)
    return out


def _on_finish(value: Any, where: str) -> tuple[str | list[str], float]:
    """Config `on_finish`: a shell command (string), an argv (list of strings), or `{"command": ..., "timeout": S}`."""
    timeout = DEFAULT_HOOK_TIMEOUT
    if isinstance(value, dict):
        timeout = bounded(value, "timeout", float, 1.0, where, "a number of seconds", timeout)
        value = value.get("command")
    if isinstance(value, str) and value.strip():
        return value, timeout
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value), timeout
    raise ConfigFileError(f"{where}: on_finish must be a command (a string, a list of strings, or an object with "
                          "\"command\" and \"timeout\")")
