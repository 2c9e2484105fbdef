"""`Namespace`: the base of the toolbox objects."""

from __future__ import annotations

from typing import ClassVar


class Namespace:
    """Base of the toolbox objects: only `SANDBOX_ATTRS` are visible to scripts."""

    SANDBOX_ATTRS: ClassVar[frozenset[str]] = frozenset()
    SANDBOX_NAME: ClassVar[str] = "namespace"

    def sandbox_text(self, as_repr: bool) -> str:
        return f"<{self.SANDBOX_NAME}>"

    def __repr__(self) -> str:
        return f"<{self.SANDBOX_NAME}>"
