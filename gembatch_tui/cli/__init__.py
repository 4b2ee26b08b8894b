"""The command line: parsing, output and exit codes, one module per command family."""
