"""The `alloy-scripting` command line: `main` (the root command and its service commands),
`sandbox` (`script check|run`, local), `remote` (`scripts ...`) and `state` (`state ...`),
through the REST API, `options` (the shared options, declared once)."""

from alloy_scripting.cli.main import app, main

__all__ = ["app", "main"]
