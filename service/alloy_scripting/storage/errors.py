"""Typed storage errors. The REST API maps them to 404 / 409 problems."""

from __future__ import annotations


class StorageError(Exception):
    """Base class of every storage error."""


class ScriptNotFound(StorageError):
    """No script with that id / name in this tenant (another tenant's script is not found)."""

    def __init__(self, key: str, *, by: str = "id", tenant_id: str | None = None) -> None:
        self.key = key
        self.by = by
        self.tenant_id = tenant_id
        super().__init__(f"script {by}={key!r} not found")


class VersionNotFound(StorageError):
    """The script exists but has no such version."""

    def __init__(self, script_id: str, version: int) -> None:
        self.script_id = script_id
        self.version = version
        super().__init__(f"script {script_id!r} has no version {version}")


class DuplicateScriptName(StorageError):
    """Another script of the same tenant already has this name."""

    def __init__(self, name: str, *, tenant_id: str | None = None) -> None:
        self.name = name
        self.tenant_id = tenant_id
        super().__init__(f"a script named {name!r} already exists")


class VersionConflict(StorageError):
    """Optimistic concurrency failure: the script changed since the caller read it.

    ``expected`` is the revision the caller had, ``actual`` the stored one (None when
    unknown, e.g. when the conflict was detected by a failed conditional write).
    """

    def __init__(self, script_id: str, expected: int, actual: int | None = None) -> None:
        self.script_id = script_id
        self.expected = expected
        self.actual = actual
        detail = f", stored revision is {actual}" if actual is not None else ""
        super().__init__(
            f"script {script_id!r} was modified concurrently (expected revision {expected}{detail})"
        )


class TenantMismatch(StorageError):
    """A script of one tenant was handed to a registry scoped to another one."""

    def __init__(self, script_tenant: str | None, registry_tenant: str | None) -> None:
        self.script_tenant = script_tenant
        self.registry_tenant = registry_tenant
        super().__init__(
            f"script belongs to tenant {script_tenant!r}, registry is scoped to {registry_tenant!r}"
        )


class TemplateConflict(StorageError):
    """Two publications of one tenant template raced; the later one is refused."""

    def __init__(self, template_id: str) -> None:
        self.template_id = template_id
        super().__init__(f"template {template_id!r} was published concurrently; publish again")
