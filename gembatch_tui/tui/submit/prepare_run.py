"""Provides the submit screen's prepare step without Textual: what the prepare dialog asks for, and the run.

Why a module of its own: the run is `gembatch-tui prepare`'s (core/prepare/build.prepare: one streaming pass, a
template with {fields}, an id column, a system instruction, a JSON Schema for structured answers; nothing is
written when a row has a problem), so the dialog only gathers the options, checks them the way the CLI does, and a
worker runs it. Blocks: call `run_prepare` and `data_columns` from a worker.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gembatch_tui.core.prepare import requests, template
from gembatch_tui.core.prepare.build import PrepareOptions, PrepareResult, output_paths, prepare
from gembatch_tui.core.prepare.readers import Source, SourceError
from gembatch_tui.core.prepare.schema import SchemaError, load_schema
from gembatch_tui.core.submit.cost_cap import CostPolicy

DATA_SUFFIXES = (".csv", ".tsv", ".tab", ".json")
"""Tables the submit screen offers to prepare (a `.jsonl` is taken for a batch input file)."""


def is_data_name(name: str) -> bool:
    """Whether a file name looks like a table to prepare (by its suffix; `.batch.json` never is)."""
    return name.lower().endswith(DATA_SUFFIXES)


class PrepareInputError(ValueError):
    """An option of the dialog cannot be used; the message names the field and what is wrong."""


@dataclass(frozen=True)
class PrepareRequest:
    """What the dialog gathered: the table, the prompt template and the optional extras."""

    data: Path
    template: str
    id_column: str = ""
    system: str = ""
    schema: str = ""
    """A JSON Schema file (relative to the table's folder), for structured answers."""
    replace: bool = False
    """Replace an existing `<name>.batch.jsonl` and its key map."""

    @property
    def batch(self) -> Path:
        """The batch file the run writes: `<name>.batch.jsonl` beside the table."""
        return output_paths(self.data.absolute(), None)[0]

    def schema_path(self) -> Path | None:
        if not self.schema.strip():
            return None
        path = Path(self.schema.strip()).expanduser()
        return path if path.is_absolute() else self.data.parent / path

    def options(self, model: str, policy: CostPolicy | None) -> PrepareOptions:
        """The core's options, as `prepare` builds them from its flags; PrepareInputError for a bad one."""
        if not self.template.strip():
            raise PrepareInputError("Template: write the prompt, with {column} for a column's value")
        try:
            tmpl = template.parse(self.template, "Template")
        except template.TemplateError as exc:
            raise PrepareInputError(str(exc)) from None
        schema = None
        schema_path = self.schema_path()
        if schema_path is not None:
            try:
                schema = load_schema(schema_path)
            except SchemaError as exc:
                raise PrepareInputError(f"Schema: {exc}") from None
        try:
            config = requests.generation_config(None, schema=schema)
        except requests.ConfigError as exc:
            raise PrepareInputError(str(exc)) from None
        policy = policy or CostPolicy()
        return PrepareOptions(
            data=self.data, template=tmpl, id_column=self.id_column.strip() or None,
            system=self.system.strip() or None, config=config, schema=schema, force=self.replace, model=model,
            prices=policy.prices, assumptions=policy.assumptions, max_cost=policy.cap,
        )


def data_columns(path: Path) -> tuple[list[str] | None, str | None]:
    """(the table's columns, None) for CSV/TSV, (None, None) for JSON (each record has its own keys), or
    (None, why) when it cannot be read."""
    try:
        return Source(path).columns, None
    except SourceError as exc:
        return None, str(exc)


def run_prepare(
    request: PrepareRequest,
    model: str,
    policy: CostPolicy | None,
    *,
    progress: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
) -> PrepareResult:
    """core/prepare's one pass; raises PrepareInputError (an option), PrepareError (rows; nothing written),
    Cancelled, or OSError when the batch file cannot be written."""
    return prepare(request.options(model, policy), progress=progress, cancel=cancel)


__all__ = ["DATA_SUFFIXES", "PrepareInputError", "PrepareRequest", "data_columns", "is_data_name", "run_prepare"]
