"""Tests of `prepare` (a batch from a table), the source join of `export`, and the cost estimate and cap."""
