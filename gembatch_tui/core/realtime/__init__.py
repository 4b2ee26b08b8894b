"""Provides the real-time fallback: the requests of a batch input (or the failed and missing keys of a finished job)
sent one by one through `models.generate_content`, under per-minute limits, resumable after a kill and written as
the same results lines a batch job's output has, so everything that reads results works unchanged.
"""
