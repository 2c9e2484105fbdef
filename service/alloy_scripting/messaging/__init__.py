"""Kafka edge: FastStream app, batch hook handling, AsyncAPI contract.

`alloy_scripting.messaging:app` is the FastStream application (Kafka hooks only; the full
service with REST API and scheduler is `alloy-scripting serve`).
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "app":
        from alloy_scripting.messaging.standalone import create_app

        return create_app()
    raise AttributeError(name)
