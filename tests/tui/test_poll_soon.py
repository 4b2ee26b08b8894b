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


def test_jobs_submitted_during_a_pass_asks_for_one_right_after_it() -> None:
    """What R on a group posts (JobsSubmitted): it set a 1 s timer, which the running pass's end replaced with the
    60 s interval, so the part it queued waited for the next pass (CI, on a loaded machine)."""
    from gembatch_tui.tui.app import GembatchApp
    from gembatch_tui.tui.messages import JobsSubmitted

    owner = _Owner()
    reloads: list[bool] = []
    owner.load_jobs = lambda: reloads.append(True)  # type: ignore[attr-defined]
    owner.schedule.started()
    GembatchApp.on_jobs_submitted(owner, JobsSubmitted([]))  # type: ignore[arg-type]
    assert owner.scheduled == [] and owner._poll_again and reloads == [True]
    owner._poll_again = False
    owner.schedule.running = False
    GembatchApp.on_jobs_submitted(owner, JobsSubmitted([]))  # type: ignore[arg-type]
    assert owner.scheduled == [1.0] and reloads == [True, True]
