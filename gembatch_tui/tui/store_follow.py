"""Provides StoreFollow, mixed into the App: what another process writes to the job store (a `submit` or a
`run --realtime` in another terminal, a `poll --watch` service, the REST service) shows on the dashboard within
FOLLOW_EVERY_S, not at the app's next poll pass, which may be minutes away.

Why a stat: every store write replaces the file, so its (inode, mtime, size) says whether anyone wrote
(fsutil.file_version, the key the store's own cache uses). A tick costs one `stat`, in a worker (a store on a
network disk may be slow to answer); only a new version posts StoreChanged. Its reload answers from the store's
cache when the write was this app's own, and the table repaints only cells whose text changed: a dashboard where
nothing changes still sends nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gembatch_tui.core.fsutil import file_version

if TYPE_CHECKING:
    from textual.app import App
    from textual.timer import Timer

    _Base = App[int]
else:
    _Base = object

FOLLOW_EVERY_S = 2.0
FOLLOW_GROUP = "store-follow"


class StoreFollow(_Base):
    """Needs the App's `store`; `store_follow_start()` once mounted."""

    if TYPE_CHECKING:
        store: Any

    _follow_seen: tuple[int, int, int] | None = None
    _follow_timer: Timer | None = None

    def store_follow_start(self) -> None:
        if self._follow_timer is None:
            self._follow_timer = self.set_interval(FOLLOW_EVERY_S, self._follow_tick, name=FOLLOW_GROUP)
            self.run_worker(self._follow_first, thread=True, group=FOLLOW_GROUP, exit_on_error=False,
                            description="note the job store's version")

    def _follow_first(self) -> None:
        self._follow_seen = file_version(self.store.path)

    def store_follow_retry(self) -> None:
        """A reload failed (a store busy or unreadable for a moment): the next tick posts StoreChanged again, as
        if the file were new, until a reload succeeds or the store is written again."""
        self._follow_seen = None

    def _follow_tick(self) -> None:
        self.run_worker(self._follow_look, thread=True, group=FOLLOW_GROUP, exclusive=True, exit_on_error=False,
                        description="look whether the job store was written")

    def _follow_look(self) -> None:
        from gembatch_tui.tui.messages import StoreChanged

        version = file_version(self.store.path)
        if version is None or version == self._follow_seen:
            return  # no file (yet), or the version the app last loaded or asked to load
        self._follow_seen = version
        self.post_message(StoreChanged("the store was written"))


__all__ = ["FOLLOW_EVERY_S", "StoreFollow"]
