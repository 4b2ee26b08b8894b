"""The help screen lists the keys of every screen, read from their BINDINGS (nothing hard-coded to go stale)."""

from __future__ import annotations

from tests.tui.sample_data import fixed_clock
from tests.tui.tui_helpers import flat, loaded, offline_service, screen_text, wait_for

from gembatch_tui.tui.app import make_app
from gembatch_tui.core.config import Settings
from gembatch_tui.core.store import JobStore
from gembatch_tui.tui.help import HelpScreen, _bindings, _key, help_sections, section_classes

EVERY_SCREEN = ["Dashboard", "Job details", "Results (v on a job)", "Usage and cost (u)", "Submit (s)", "Resources (b)", "Event log (E)",
                "No API key", "Delete dialog", "Questions", "Everywhere"]


def test_every_binding_of_every_screen_is_listed() -> None:
    sections = dict(help_sections())
    assert list(sections) == EVERY_SCREEN
    for title, classes in section_classes():
        listed = sections[title]
        for cls in classes:
            for binding in _bindings(cls):
                what = binding.tooltip or binding.description
                assert any(_key(binding) in keys.split(" / ") and desc == what for keys, desc in listed), (
                    f"{title}: {cls.__name__} {binding.key} ({what}) is not in the help")
    # a few by name: the group toggle, the results browser, the submit screen and the resources screen
    for title, keys, words in (
        ("Dashboard", "space", "Expand or collapse a split job's parts"),
        ("Dashboard", "right", "Show the parts of the group"),
        ("Results (v on a job)", "R", "Resubmit the failed and missing requests"),
        ("Results (v on a job)", "]", "Next"),
        ("Submit (s)", "ctrl+s", "Submit the marked files"),
        ("Submit (s)", "space", "Mark or unmark the highlighted file, then go to the next"),
        ("Resources (b)", "u", "Select exactly the safe set (the rule of `cleanup`)"),
        ("Resources (b)", "A", "Add the job to the store so its results are fetched"),
    ):
        assert any(keys in k.split(" / ") and d == words for k, d in sections[title]), (title, keys)


async def test_help_screen_scrolls_through_every_section(sample_store: JobStore) -> None:
    app = make_app(Settings(store_path=sample_store.path, bell=False), store=sample_store,
                   service=offline_service(sample_store), clock=fixed_clock, poll=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app, 11))
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        seen = flat(screen_text(app))
        for _ in range(12):
            await pilot.press("pagedown")
            seen += " " + flat(screen_text(app))
        for title in EVERY_SCREEN:
            assert title in seen, title
        assert "⋯ queued" in seen  # the state legend has the new state
