"""The local REST service (`gembatch-tui serve`, the `[server]` extra): submit, status, list, results, cancel and
delete over HTTP, on the same core calls as the CLI. Needs Starlette and uvicorn; only `cli/serve.py` imports it,
lazily, and the core never does."""
