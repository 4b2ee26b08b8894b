"""Provides `prepare`: a batch input made from a table (CSV, TSV, a JSON list or JSONL records) and a prompt
template, with a key map back to the source rows, so that answers can be joined to the user's own data.

Modules: template (the `{field}` prompt), readers (streaming records of each format), schema (a JSON Schema file
for structured output), requests (the request line and its generation config), mapfile (the key map beside the
batch file, and finding it again for export) and build (the one streaming pass that writes both files).
"""
