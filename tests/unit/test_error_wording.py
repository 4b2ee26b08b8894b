"""What a 429 says fits every call it can come from (QA pass 4: `list --remote` ended "the job can be retried
later", and the service's sentence was followed by ".;")."""

from __future__ import annotations

from pathlib import Path

from google.genai import errors

from gembatch_tui.core.errors import create_refused, describe_api_error


def _api_error(code: int, status: str, message: str) -> errors.APIError:
    return errors.ClientError(code, {"error": {"code": code, "message": message, "status": status}})


def test_a_429_on_a_listing_speaks_of_the_call_not_of_a_job() -> None:
    exc = describe_api_error(_api_error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
                             "list batches")
    assert str(exc) == ("list batches: a rate limit or quota is exhausted (429 RESOURCE_EXHAUSTED): Resource has been "
                        "exhausted (e.g. check quota). Try again later.")  # the service's sentence kept whole
    assert exc.transient


def test_a_429_for_enqueued_tokens_still_names_the_limit() -> None:
    exc = describe_api_error(_api_error(429, "RESOURCE_EXHAUSTED", "Enqueued token limit reached"), "create batch")
    assert "the enqueued-token limit of your tier is reached" in str(exc)
    assert str(exc).endswith("limit reached; the job can be retried later") and create_refused(str(exc))


def test_only_a_refused_create_points_to_the_interactive_api() -> None:
    """QA pass 4: a 429 while listing files (looking for a lost upload) offered `run --realtime`."""
    from gembatch_tui.cli.realtime import fallback_hint

    listing = "could not look for the upload whose answer was lost: " + str(describe_api_error(
        _api_error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted"), "list files"))
    assert not create_refused(listing) and fallback_hint(Path("in.jsonl"), "error", listing) is None
    refused = str(describe_api_error(_api_error(403, "PERMISSION_DENIED", "no billing"), "create batch"))
    assert fallback_hint(Path("in.jsonl"), "error", refused) is not None


def test_an_html_page_is_named_not_printed_and_long_texts_are_cut() -> None:
    """An exploratory run pointed the base URL at a web server: `list --remote` printed its whole 404 page."""
    page = "<!DOCTYPE HTML>\n<html lang=\"en\">\n<head><title>Error response</title></head>\n" + "<p>x</p>\n" * 200
    text = str(describe_api_error(_api_error(404, "", page), "list batches"))
    assert text == ("list batches: not found (404): the answer was an HTML page, not the API's JSON error: is "
                    "GOOGLE_GEMINI_BASE_URL (or the proxy) the Gemini API?")
    long = str(describe_api_error(_api_error(400, "INVALID_ARGUMENT", "why " * 500), "create batch"))
    assert len(long) < 520 and long.endswith("…")
