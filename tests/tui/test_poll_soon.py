"""An action that changes a job during a poll gets a pass right after that one: the running pass may have read the
store before the change. In CI a part queued by R waited the whole 60 s interval for the next pass."""

from __future__ import annotations

from gembatch_tui.tui.polling import PollOwner


class _Owner(PollOwner):
    """The poll loop alone, with the timer recorded instead of set."""

    def __init__(self) -> None:
        self._init_poller(60.0, True)
        self.scheduled: list[float] = []

    def schedule_poll(self, delay: float) -> None:  # noqa: D102 - records the delay
        self.scheduled.append(delay)


def test_poll_soon_during_a_pass_asks_for_one_right_after_it() -> None:
    owner = _Owner()
    owner.schedule.started()
    owner.poll_soon()
    assert owner.scheduled == [] and owner._poll_again  # not a second pass at once: one right after this one
    owner._poll_again = False
    owner.schedule.running = False  # the pass is over
    owner.poll_soon()
    assert owner.scheduled == [2.0]  # between passes: within 2 s
