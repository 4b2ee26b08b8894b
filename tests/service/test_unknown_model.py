"""A model the service does not know is refused before the upload: models.get answers 404, so a typo in -m does
not cost the upload of a big file (and its clean-up) before the create refuses it."""

from __future__ import annotations

from pathlib import Path

import pytest

from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.emulator import Emulator


def _paths(emu: Emulator) -> list[str]:
    return [path for _method, path in emu.request_log]


def test_an_unknown_model_is_refused_before_anything_is_uploaded(service: BatchService, emulator: Emulator,
                                                                 examples: Path) -> None:
    outcome = service.submit(examples / "basic.jsonl", model="gemini-2.5-flahs")
    assert outcome.status == "error"
    assert outcome.message == ("model gemini-2.5-flahs: the service does not know it (models.get answered 404); "
                               "nothing was uploaded")
    assert not any("/upload/" in p or "batchGenerateContent" in p for p in _paths(emulator))
    assert emulator.files_snapshot() == [] and emulator.batches_snapshot() == []
    assert service.store.read_all() == []


def test_a_known_model_is_asked_once_and_a_failed_check_is_left_to_the_create(
        service: BatchService, emulator: Emulator, examples: Path) -> None:
    emulator.fail_next("GET", r"/models/gemini-2.5-flash$", 503)  # settles nothing: the submit goes on
    assert service.submit(examples / "basic.jsonl", model="models/gemini-2.5-flash").status == "submitted"
    assert service.submit(examples / "structured-output.jsonl", model="gemini-2.5-flash").status == "submitted"
    asked = [p for p in _paths(emulator) if p.endswith("/models/gemini-2.5-flash")]
    assert len(asked) == 2  # the 503 (not taken as an answer), then one that is kept
    assert len(emulator.batches_snapshot()) == 2


def test_the_emulator_answers_models_get_like_the_service(emulator: Emulator) -> None:
    from google import genai
    from google.genai import errors

    from tests.service.conftest import KEY

    client = genai.Client(api_key=KEY, http_options={"base_url": emulator.url})
    model = client.models.get(model="gemini-embedding-001")
    assert model.name == "models/gemini-embedding-001" and "asyncBatchEmbedContent" in model.supported_actions
    try:
        client.models.get(model="gemini-nope")
    except errors.ClientError as exc:
        assert (exc.code, exc.status) == (404, "NOT_FOUND") and "models/gemini-nope" in str(exc.message)
    else:
        raise AssertionError("an unknown model was found")


def test_the_check_is_asked_once_a_model(service: BatchService, emulator: Emulator, examples: Path) -> None:
    for name in ("basic.jsonl", "structured-output.jsonl"):
        assert service.submit(examples / name, model="gemini-2.5-flash-lite").status == "submitted"
    assert sum(1 for p in _paths(emulator) if p.endswith("/models/gemini-2.5-flash-lite")) == 1


def test_a_big_file_validated_while_uploaded_is_refused_as_early(service: BatchService, emulator: Emulator,
                                                                  examples: Path) -> None:
    """The CLI sends a big file straight to overlap.submit_while_validating: the model is checked there too."""
    from gembatch_tui.core.submit import overlap

    outcome, report = overlap.submit_while_validating(service, examples / "basic.jsonl", model="gemini-nope")
    assert outcome.status == "error" and "model gemini-nope: the service does not know it" in outcome.message
    assert report is None
    assert not any("/upload/" in p for p in _paths(emulator)) and service.store.read_all() == []


@pytest.mark.parametrize("outcome", ["reset", b"not json"])
def test_a_lost_or_malformed_answer_to_the_check_leaves_the_model_to_the_create(
        service: BatchService, emulator: Emulator, examples: Path, outcome: object) -> None:
    emulator.lose_answer("GET", r"/models/gemini-2.5-flash$", outcome)  # type: ignore[arg-type]
    done = service.submit(examples / "basic.jsonl", model="gemini-2.5-flash")
    assert done.status == "submitted" and len(emulator.batches_snapshot()) == 1
