"""API keys, tenancy and the caller of a request.

* ``Authorization: Bearer <key>``; keys come from ``settings.api_keys`` (``key`` or
  ``key:tenant``, comma-separated) and are compared in constant time. Missing or invalid
  → 401 with ``WWW-Authenticate: Bearer``. ``settings.auth_disabled`` turns the check off.
* ``X-Tenant-Id`` selects the tenant (absent = the default tenant). A key bound to a tenant
  acts only as that tenant: an absent header means its tenant, another one is a 403.
* ``X-User-Id`` names the acting user for ``created_by`` / ``updated_by``; without it, the
  key's label (``key-`` + 8 hex digits of its SHA-256) is used.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from alloy_scripting.api.problems import ProblemError
from alloy_scripting.model.script import MAX_TENANT_LENGTH
from alloy_scripting.settings import Settings

MAX_USER_LENGTH = 256
_PRINTABLE = re.compile(r"^[^\x00-\x1f\x7f]+$")


@dataclass(frozen=True)
class ApiKey:
    secret: str
    tenant_id: str | None

    @property
    def label(self) -> str:
        return key_label(self.secret)


@dataclass(frozen=True)
class Caller:
    """Who is calling, as which tenant."""

    tenant_id: str | None
    actor: str | None
    key: ApiKey | None = None


def key_label(secret: str) -> str:
    """A non-secret name for a key, safe to store and to log."""
    return "key-" + hashlib.sha256(secret.encode()).hexdigest()[:8]


def parse_api_keys(spec: str) -> list[ApiKey]:
    """``"k1,k2:tenant-a"`` → keys; the first ``:`` separates a key from its tenant."""
    keys: list[ApiKey] = []
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        secret, sep, tenant = item.partition(":")
        secret, tenant = secret.strip(), tenant.strip()
        if secret:
            keys.append(ApiKey(secret, tenant if sep and tenant else None))
    return keys


class KeyRing:
    """The configured keys; `find` compares against every one of them in constant time."""

    def __init__(self, settings: Settings) -> None:
        self.disabled = settings.auth_disabled
        self.keys = parse_api_keys(settings.api_keys)

    def find(self, presented: str) -> ApiKey | None:
        candidate = presented.encode()
        found: ApiKey | None = None
        for key in self.keys:
            if hmac.compare_digest(candidate, key.secret.encode()) and found is None:
                found = key
        return found


_bearer = HTTPBearer(auto_error=False, description="An API key from `ALLOY_API_KEYS`.")


def _unauthorized(detail: str, error: str | None = None) -> ProblemError:
    challenge = "Bearer" if error is None else f'Bearer error="{error}"'
    return ProblemError("unauthorized", detail, headers={"WWW-Authenticate": challenge})


def _check_header(name: str, value: str, limit: int) -> str:
    if len(value) > limit or not _PRINTABLE.match(value) or not value.strip():
        raise ProblemError(
            "validation",
            f"{name} must be 1 to {limit} printable characters",
            errors=[{"loc": ["header", name], "msg": "invalid value", "type": "value_error"}],
        )
    return value


def resolve_caller(
    ring: KeyRing, token: str | None, tenant_header: str | None, user_header: str | None
) -> Caller:
    """Who calls, from the bearer token and the `X-Tenant-Id` / `X-User-Id` headers (REST and
    the MCP endpoint alike). Raises the 401 / 403 / 422 problem."""
    key: ApiKey | None = None
    if not ring.disabled:
        if token is None:
            raise _unauthorized("an API key is required: Authorization: Bearer <key>")
        key = ring.find(token)
        if key is None:
            raise _unauthorized("the API key is not valid", "invalid_token")
    tenant = (
        None
        if tenant_header is None
        else _check_header("X-Tenant-Id", tenant_header, MAX_TENANT_LENGTH)
    )
    if key is not None and key.tenant_id is not None:
        if tenant is not None and tenant != key.tenant_id:
            raise ProblemError("forbidden", "this API key may not act for that tenant")
        tenant = key.tenant_id
    actor = (
        None if user_header is None else _check_header("X-User-Id", user_header, MAX_USER_LENGTH)
    )
    if actor is None and key is not None:
        actor = key.label
    return Caller(tenant_id=tenant, actor=actor, key=key)


async def current_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    x_tenant_id: Annotated[
        str | None,
        Header(description="The tenant to act as; absent = the default tenant (or the key's)."),
    ] = None,
    x_user_id: Annotated[
        str | None, Header(description="The acting user, recorded as created_by / updated_by.")
    ] = None,
) -> Caller:
    token = None if credentials is None else credentials.credentials
    return resolve_caller(request.app.state.key_ring, token, x_tenant_id, x_user_id)


CallerDep = Annotated[Caller, Depends(current_caller)]
