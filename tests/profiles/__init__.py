"""Tests of several API keys (profiles) in one store: each job is asked about only with the key that made it."""
