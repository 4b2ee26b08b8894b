"""Provides key fingerprints: which API key a job belongs to, without ever storing the key.

A job is visible only to the key that created it (another key gets 404 or 403), so a poll with the wrong key
would see every job of the right one as gone. Each record therefore carries `key_fingerprint`: HMAC-SHA256 of
the key under a random salt kept beside the store (`<store>.keysalt`, 0600), cut to 16 hex digits. The salt makes
the fingerprint useless for guessing the key elsewhere; the fingerprint is never the key nor contains it.

Records without a fingerprint (stores older than profiles) belong to the default key (GOOGLE_API_KEY /
GEMINI_API_KEY): the first pass of that key that sees such a job stamps it. `OwnedStore` is the store as one key's
poll pass sees it: only that key's records, so the pass, the queue and the recovery of interrupted submissions
never ask about a job with a key that cannot see it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from gembatch_tui.core import paths
from gembatch_tui.core.config import DEFAULT_PROFILE, Settings
from gembatch_tui.core.models import Record
from gembatch_tui.core.store import CorruptLine, JobStore

FIELD = "key_fingerprint"
ABSENT = "key_absent"
"""Set by the app on its in-memory copy of a record (never in the store): why the job is not polled."""
PREFIX = "k1-"
SALT_BYTES = 32


def salt_path(store_path: str | os.PathLike[str]) -> Path:
    path = Path(store_path)
    return path.with_name(path.name + ".keysalt")


def store_salt(store_path: str | os.PathLike[str]) -> bytes:
    """The store's salt, made (0600, never replaced) the first time it is needed."""
    path = salt_path(store_path)
    try:
        data = path.read_bytes()
        if len(data) >= 16:
            return data
    except FileNotFoundError:
        pass
    # The salt is often the first file made in a new data dir (runtime opens it before the store is touched):
    # the dir must come out 0700 as the store would make it, not with the umask's 0755.
    paths.ensure_private_dir(path.parent)
    fresh = secrets.token_bytes(SALT_BYTES)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, fresh)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # the first writer wins; a racing process reads the winner's salt
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_bytes()


def fingerprint(key: str, salt: bytes) -> str:
    return PREFIX + hmac.new(salt, key.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def stamped(service: object, extra: dict | None) -> dict | None:
    """`extra` (fields for a new record) with the fingerprint of `service`'s key, for a submission that does not go
    through the service's own `submit` (runtime.ProfileService stamps those)."""
    key_print = getattr(service, "key_fingerprint", None)
    return {**(extra or {}), FIELD: key_print} if key_print else extra


def belongs(record: Record, key_print: str, is_default: bool) -> bool:
    """Whether the job is the key's: its fingerprint is the key's, or it has none and the key is the default."""
    own = record.get(FIELD)
    if not isinstance(own, str) or not own:
        return is_default
    return own == key_print


class OwnedStore(JobStore):
    """The store as one key's poll pass sees it: reads give only that key's records; writes go to the store."""

    def __init__(self, path: str | os.PathLike[str], key_print: str, is_default: bool) -> None:
        super().__init__(path)
        self.key_print = key_print
        self.is_default = is_default

    def read_all(self) -> list[Record]:
        return [r for r in super().read_all() if belongs(r, self.key_print, self.is_default)]

    def read_with_problems(self) -> tuple[list[Record], list[CorruptLine]]:
        records, problems = super().read_with_problems()
        return [r for r in records if belongs(r, self.key_print, self.is_default)], problems


@dataclass
class KeyRing:
    """Which keys this run has (by fingerprint), so a job of another key can be labelled instead of asked about."""

    present: dict[str, str] = field(default_factory=dict)  # fingerprint -> profile name
    default_present: bool = True
    absent: dict[str, str] = field(default_factory=dict)  # profile name -> the environment variable to set
    everything: bool = False  # no fingerprints to tell apart (the demo): every job is this run's

    def label(self, record: Record) -> str | None:
        """None when the job's key is set; else 'key absent: profile NAME (set VAR)' or 'other key: ...'."""
        if self.everything:
            return None
        own = record.get(FIELD)
        if not isinstance(own, str) or not own:
            if self.default_present:
                return None
            return f"key absent: profile {DEFAULT_PROFILE} (set {self.absent.get(DEFAULT_PROFILE, 'GEMINI_API_KEY')})"
        if own in self.present:
            return None
        names = ", ".join(f"profile {n} ({env})" for n, env in self.absent.items() if n != DEFAULT_PROFILE)
        return "other key: made with an API key that is not set" + (f"; not set: {names}" if names else "")


def label_absent(records: list[Record], ring: KeyRing) -> None:
    """Mark, in these in-memory records, the jobs still waiting on the server whose key is not set (`ABSENT`)."""
    from gembatch_tui.core.models import is_final, needs_download, record_state

    for rec in records:
        if not rec.get("batch") or (is_final(record_state(rec)) and not needs_download(rec)):
            continue
        label = ring.label(rec)
        if label is not None:
            rec[ABSENT] = label


def key_ring(settings: Settings) -> KeyRing:
    """The keys of `settings` (the default one and every profile's) by fingerprint; reads the salt, never makes it."""
    if settings.demo:
        return KeyRing(everything=True)
    named = [(DEFAULT_PROFILE, settings.default_key, "GEMINI_API_KEY")]
    named += [(p.name, p.key(), p.key_env) for p in settings.profiles.values()]
    if settings.profile != DEFAULT_PROFILE and settings.api_key:  # --api-key with --profile: that key is the profile's
        named = [(n, settings.api_key if n == settings.profile else k, e) for n, k, e in named]
    try:
        salt: bytes | None = salt_path(settings.store_path).read_bytes()
    except OSError:
        salt = None  # no job has a fingerprint yet
    ring = KeyRing(default_present=bool(settings.default_key))
    for name, key, env in named:
        if not key:
            ring.absent[name] = env
        elif salt is not None:
            ring.present[fingerprint(key, salt)] = name
    return ring
