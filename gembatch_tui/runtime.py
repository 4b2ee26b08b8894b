"""Provides the wiring of settings -> store, client, service (and the demo emulator) for every front end: the CLI,
the app, the library and the REST service.

One function builds what they all need (it sits beside them, above core, so the library and the service do not
reach into the CLI for it), so `--demo` behaves the same everywhere, and
whatever it started (the emulator) is stopped by `close()`.

Several keys (config `profiles`, core/keys.py): `service` is the chosen profile's (submissions carry its key
fingerprint); `services` has one per profile whose key is set, each reading only its own jobs (keys.OwnedStore).
A poll pass over `service` runs over each of them (`service.poll_views`), so every job is asked about with the
key that created it; jobs of a key that is not set are left alone (`absent_profiles` names them).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gembatch_tui.core import keys
from gembatch_tui.core.models import record_key
from gembatch_tui.core.config import DEFAULT_PROFILE, Settings, profile_missing_key_message
from gembatch_tui.core.errors import MissingKeyError, ServiceError, register_secret
from gembatch_tui.core.api.gemini import GeminiClient
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.core.store import JobStore

DEMO_JOB_SECONDS = 25.0
DEMO_BUSY_MESSAGE = "the demo emulator is in use by another gembatch-tui process; close it or run without --demo"


class ProfileService(BatchService):
    """A service of one key: what it submits carries the key's fingerprint (core/keys.py)."""

    profile: str = DEFAULT_PROFILE
    key_fingerprint: str | None = None
    key_is_default: bool = True

    def submit(self, path: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if self.key_fingerprint is not None:
            kwargs["extra"] = {**(kwargs.get("extra") or {}), keys.FIELD: self.key_fingerprint}
        return super().submit(path, **kwargs)


@dataclass
class Runtime:
    settings: Settings
    store: JobStore
    service: BatchService | None
    emulator: Any = None
    services: dict[str, BatchService] = field(default_factory=dict)
    """One per profile whose key is set, by profile name; each reads only its own jobs (keys.OwnedStore)."""
    absent_profiles: dict[str, str] = field(default_factory=dict)
    """Profiles whose key is not set: name -> the environment variable to set."""
    same_key: dict[str, str] = field(default_factory=dict)
    """Profiles whose key is another profile's: name -> the profile in `services` that holds that key."""
    _closed: bool = field(default=False, repr=False)
    _submitters: dict[str, BatchService] = field(default_factory=dict, repr=False)

    def submitting_service(self, name: str) -> BatchService:
        """The service that submits with profile `name`'s key (the REST service's `profile`, `--profile` for one
        request): over the whole store like `service`, its jobs carrying that key's fingerprint; every job is still
        polled with its own key (`poll_views`). ConfigFileError for an unknown profile and MissingKeyError for
        one whose key is not set, each with the CLI's message."""
        import copy

        from gembatch_tui.core.config import choose_profile

        assert self.service is not None
        if name == getattr(self.service, "profile", None):
            return self.service
        if self.settings.demo:
            raise ServiceError(f"profile {name!r}: the demo has one key; profiles are not used with --demo")
        chosen = copy.copy(self.settings)
        choose_profile(chosen, name)  # ConfigFileError naming the known profiles
        own = self.services.get(self.same_key.get(name, name))
        if own is None or not chosen.api_key:
            raise MissingKeyError(profile_missing_key_message(chosen))
        if name not in self._submitters:
            svc = _service(self.settings, self.store, own.client, name, getattr(own, "key_fingerprint", ""),
                           getattr(own, "key_is_default", False))
            svc.poll_views = getattr(self.service, "poll_views", [])  # type: ignore[attr-defined]
            svc.limits = self.service.limits
            self._submitters[name] = svc
        return self._submitters[name]

    def service_for(self, record: dict[str, Any]) -> BatchService | None:
        """The service of the key that created `record` (None: that key is not set, so nothing may ask about it)."""
        if not self.services:
            return self.service
        for svc in self.services.values():
            store = svc.store
            if isinstance(store, keys.OwnedStore) and keys.belongs(record, store.key_print, store.is_default):
                return svc
        return None

    def each_service(self) -> list[BatchService]:
        """One service per key that is set, each over its own jobs (clean-up plans per key)."""
        return list(self.services.values()) or ([self.service] if self.service is not None else [])

    def cleanup_plan(self) -> tuple[Any, dict[int, BatchService]]:
        """core.cleanup.remote.cleanup_plan of every key over its own jobs and uploads, merged, with the service
        that planned each action (for execute_routed: an orphan upload is deleted with the key that listed it)."""
        from gembatch_tui.core.cleanup.remote import cleanup_plan

        plan, planned_by = None, {}
        for svc in self.each_service():
            one = cleanup_plan(svc)
            planned_by.update({id(a): svc for a in one.actions})
            if plan is None:
                plan = one
            else:
                plan.actions.extend(one.actions)
                plan.refused.extend(one.refused)
                plan.unlisted = plan.unlisted or one.unlisted
        return plan, planned_by

    def absent_reason(self, record: dict[str, Any]) -> str:
        """Why nothing asks the server about `record`: the key that made it is not set."""
        return self.key_ring().label(record) or "its API key is not set"

    def execute_routed(self, actions: list[Any], planned_by: dict[int, BatchService] | None = None) -> list[Any]:
        """cleanup.execute.execute, each job's actions with its own key's service; a job whose key is not set is
        refused (asking with another key would answer 403/404, which reads as already gone). `planned_by`
        (id of an action -> the service whose listing found it) routes what has no record: orphan uploads."""
        from gembatch_tui.core.cleanup.execute import execute
        from gembatch_tui.core.cleanup.plan import LOCAL_KINDS, ActionResult

        assert self.service is not None
        if not self.services:
            return execute(self.service, actions)
        records = {record_key(r): r for r in self.store.read_all()}
        remote = {a.record_key for a in actions if a.kind not in LOCAL_KINDS}
        by_service: dict[int, tuple[BatchService, list[Any]]] = {}
        results: list[Any] = []
        for action in actions:
            rec = records.get(action.record_key) if action.record_key else None
            svc = (planned_by or {}).get(id(action)) or (self.service_for(rec) if rec is not None else self.service)
            if svc is None and rec is not None and action.record_key not in remote:
                svc = self.service  # nothing remote of it to delete (a real-time run, a submission that failed
                # before anything was created): no key is asked, any service drops the record
            if svc is None:
                results.append(ActionResult(action, False, self.absent_reason(rec or {})))
                continue
            by_service.setdefault(id(svc), (svc, []))[1].append(action)
        for svc, mine in by_service.values():
            results.extend(execute(svc, mine))
        return results

    def key_ring(self) -> keys.KeyRing:
        """The keys this run polls with, by fingerprint: what the app labels 'other key' is exactly what no
        service here asks about."""
        if self.settings.demo or not self.services:
            return keys.KeyRing(everything=True)
        ring = keys.KeyRing(default_present=False, absent=dict(self.absent_profiles))
        for name, svc in self.services.items():
            store = svc.store
            if isinstance(store, keys.OwnedStore):
                ring.present[store.key_print] = name
                ring.default_present = ring.default_present or store.is_default
        return ring

    def profile_of(self, record: dict[str, Any]) -> str | None:
        """The name of the profile whose key made `record`, when that key is set (else None: 'other key')."""
        svc = self.service_for(record)
        return getattr(svc, "profile", None) if svc is not None else None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.emulator is not None:
            self.emulator.stop()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_demo_emulator(job_seconds: float = DEMO_JOB_SECONDS) -> tuple[Any, str]:
    """The demo's emulator: on a free loopback port, with a throwaway key known only to this process (never
    printed; redacted from messages), over the persistent state in `<data dir>/demo/emulator`.

    Jobs submitted in one demo run (`--demo submit`, the demo app) are there in the next (`--demo poll`) and go
    on where the clock says they are; their ids never repeat. Each process runs its own emulator, with its own
    key, and several may share the state dir at once (the demo app open while `--demo poll` runs): each sees
    the others' changes on its next request (see core/emulator/persist.py).
    """
    from gembatch_tui.core import paths
    from gembatch_tui.emulator import Emulator
    from gembatch_tui.emulator.persist import StateDirBusy

    key = "demo-" + secrets.token_hex(12)
    register_secret(key)
    state_dir = demo_emulator_dir()
    try:
        paths.ensure_private_dir(state_dir)
        emulator = Emulator(api_key=key, job_seconds=job_seconds, state_dir=state_dir).start()
    except StateDirBusy:
        raise ServiceError(DEMO_BUSY_MESSAGE) from None
    except OSError as exc:
        raise ServiceError(f"cannot start the demo emulator in {state_dir}: {exc.strerror or exc}") from None
    return emulator, key


def demo_emulator_dir() -> Path:
    from gembatch_tui.core import paths

    return paths.data_dir() / "demo" / "emulator"


def open_runtime(settings: Settings, *, need_service: bool = True, demo_job_seconds: float = DEMO_JOB_SECONDS) -> Runtime:
    store = JobStore(settings.store_path)
    if not need_service:
        return Runtime(settings, store, None)
    emulator = None
    # (profile, key, base url, what is fingerprinted): the chosen profile first
    keyed: list[tuple[str, str, str | None, str]] = []
    absent: dict[str, str] = {}
    same_key: dict[str, str] = {}
    if settings.demo:
        emulator, key = start_demo_emulator(demo_job_seconds)
        scope = "demo-" + hashlib.sha256(str(demo_emulator_dir()).encode()).hexdigest()[:16]
        # Each demo run has a new key over the same emulator state: its jobs are the scope's, not the key's.
        keyed.append((DEFAULT_PROFILE, key, emulator.url, scope))
    else:
        if not settings.api_key:
            raise MissingKeyError(profile_missing_key_message(settings))
        keyed.append((settings.profile, settings.api_key, settings.base_url, settings.api_key))
        candidates = [(DEFAULT_PROFILE, settings.default_key, settings.default_base_url, "GOOGLE_API_KEY")]
        candidates += [(p.name, p.key(), p.base_url or settings.default_base_url, p.key_env)
                       for p in settings.profiles.values()]
        for name, key, base, env in candidates:
            if name == settings.profile:
                continue
            if key and key not in {k for _n, k, _b, _s in keyed}:  # one key under two names: polled once
                keyed.append((name, key, base, key))
            else:
                absent[name] = env
                same_key.update({name: n for n, k, _b, _s in keyed if key and k == key})
    try:
        salt = keys.store_salt(settings.store_path)
    except OSError:
        # A store folder we cannot write (read-only, another user's): no salt file exists, so no record has a
        # fingerprint yet and all are the default key's; reading must still work, and any write fails on its own.
        salt = secrets.token_bytes(keys.SALT_BYTES)
    services: dict[str, BatchService] = {}
    main: BatchService | None = None
    for name, key, base, secret in keyed:
        key_print = keys.fingerprint(secret, salt)
        client = _client(settings, key, base, demo=settings.demo, emulator=emulator)
        is_default = name == DEFAULT_PROFILE or (not settings.demo and key == settings.default_key)
        if main is None:  # the chosen profile's: submits, and reads the whole store (the app and the CLI list it)
            main = _service(settings, store, client, name, key_print, is_default)
        # each key's poll pass reads only its own jobs
        view = keys.OwnedStore(settings.store_path, key_print, is_default)
        services[name] = _service(settings, view, client, name, key_print, is_default)
    assert main is not None
    main.poll_views = list(services.values())  # type: ignore[attr-defined]
    return Runtime(settings, store, main, emulator, services=services, absent_profiles=absent, same_key=same_key)


def _client(settings: Settings, key: str, base_url: str | None, *, demo: bool, emulator: Any) -> GeminiClient:
    if demo:
        scope = "demo-" + hashlib.sha256(str(demo_emulator_dir()).encode()).hexdigest()[:16]
        return GeminiClient(key, base_url=emulator.url, retry_initial_delay=0.2, retry_max_delay=2.0, scope=scope)
    return GeminiClient(
        key,
        base_url=base_url,
        retry_attempts=settings.retry_attempts,
        retry_initial_delay=settings.retry_initial_delay,
        retry_max_delay=settings.retry_max_delay,
    )


def _service(settings: Settings, store: JobStore, client: GeminiClient, profile: str, key_print: str,
             is_default: bool) -> BatchService:
    service = ProfileService(
        store,
        client,
        results_dir=settings.results_dir,
        demo=settings.demo,
        max_parallel_polls=settings.max_parallel_polls,
        media_wait_s=media_wait_seconds(settings.extra),
    )
    service.profile, service.key_fingerprint, service.key_is_default = profile, key_print, is_default
    if settings.on_finish is not None:  # every poll pass over this service runs it (the app, poll, the library)
        from gembatch_tui.core.poll import finish_hooks

        finish_hooks.install(service, finish_hooks.FinishHook(settings.on_finish, settings.on_finish_timeout))
    return service


def media_wait_seconds(config: dict[str, Any]) -> float:
    """Config `media_wait_seconds` (how long to wait for uploaded media to become ACTIVE); 600 when unset or bad."""
    value = config.get("media_wait_seconds")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < float("inf"):
        return float(value)
    return 600.0
