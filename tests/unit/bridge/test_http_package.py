"""The HTTP bridge package: its exports, and what worker processes do not load."""

from __future__ import annotations

import subprocess
import sys

import alloy_scripting.bridge.http as http


def test_every_export_resolves() -> None:
    assert sorted(http.__all__) == sorted([*http._MODULE_OF, "HELPERS"])
    for name in http._MODULE_OF:
        assert getattr(http, name).__name__ == name or name == "Resolver"
    assert [spec.name for spec in http.HELPERS] == ["http_get", "http_post", "http_request"]


def test_the_engine_and_the_host_functions_do_not_load_httpx() -> None:
    """Worker processes import both; the HTTP client is the service's alone."""
    code = (
        "import sys, alloy_scripting.engine, alloy_scripting.bridge.host_calls;"
        "print(sorted(m for m in ('httpx', 'httpcore', 'h11') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
