"""The Kafka edge: batch consumers, hook processing, producers, topics, the AsyncAPI contract
and the wiring of the service.

`alloy_scripting.messaging:app` is the FastStream application (Kafka hooks only; the full
service with REST API and scheduler is `alloy-scripting serve`).
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "app":
        from alloy_scripting.messaging.wiring import faststream_app

        return faststream_app()
    raise AttributeError(name)
