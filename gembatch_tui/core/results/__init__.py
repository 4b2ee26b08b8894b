"""What came back: verification, fingerprints, the results join and its rows, usage, export, resubmit."""
