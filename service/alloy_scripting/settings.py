"""Service configuration, read from `ALLOY_*` environment variables."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from alloy_scripting.model.limits import (
    HARD_MAX_CALL_DEPTH,
    HARD_MAX_OPERATIONS,
    HARD_MAX_TIMEOUT_MS,
    ScriptLimits,
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ALLOY_", env_file=".env", extra="ignore")

    kafka_bootstrap: str = "localhost:9092"
    mongodb_url: str = "mongodb://localhost:27017"
    mongodb_database: str = "alloy"

    topic_prefix: str = Field(default="", description="Prepended to every topic name.")
    consumer_group: str = Field(
        default="alloy-scripting",
        description="Consumer group of the before-hook topics; after/on-commit events are "
        "consumed by `<group>.effects` (one group per pipeline: instances joining or leaving "
        "rebalance each pipeline on its own).",
    )

    http_host: str = "0.0.0.0"
    http_port: int = 8080

    api_keys: str = Field(
        default="",
        description="Comma-separated API keys; `key` or `key:tenant` to bind a key to one tenant.",
    )
    auth_disabled: bool = Field(default=False, description="Development only: no API key needed.")
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    mcp_allowed_hosts: str = Field(
        default="127.0.0.1:*,localhost:*,[::1]:*",
        description="`Host` values the MCP endpoint (`/mcp`) answers, comma-separated "
        "(`host:*` for any port): DNS-rebinding protection. `*` turns the check off.",
    )
    mcp_allowed_origins: str = Field(
        default="http://127.0.0.1:*,http://localhost:*,http://[::1]:*",
        description="`Origin` values the MCP endpoint accepts from browsers, comma-separated.",
    )

    graphql_introspection: bool = Field(
        default=True, description="Answer GraphQL introspection (`__schema`, `__type`)."
    )
    graphql_max_depth: int = Field(default=8, ge=1, description="Deepest GraphQL selection.")
    graphql_max_complexity: int = Field(
        default=10_000,
        ge=1,
        description="GraphQL query cost: one per field, times `limit` inside paginated lists.",
    )
    graphql_max_tokens: int = Field(default=2_000, ge=100, description="GraphQL document size.")
    graphql_max_aliases: int = Field(default=15, ge=1, description="Aliases per GraphQL document.")
    api_rate_per_second: float = Field(
        default=50.0,
        gt=0,
        description="API endpoints (`/api/...`): requests per second per tenant and instance.",
    )
    api_rate_burst: int = Field(
        default=100, ge=1, description="API endpoints: requests a tenant may make at once."
    )

    hook_batch_size: int = Field(default=256, ge=1, description="Records per consumer batch.")
    hook_concurrency: int = Field(default=64, ge=1, description="Entity keys processed at once.")
    hook_max_uncommitted: int = Field(
        default=1024,
        ge=1,
        description="Handled hook records whose offsets may still wait for their commit "
        "while the consumer goes on with the next ones.",
    )
    hook_fetch_wait_ms: int = Field(
        default=10,
        ge=1,
        description="How long the broker may hold a hook consumer's fetch (Kafka's default, "
        "500 ms, stalls request/reply between batches).",
    )
    processed_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    topic_partitions: int = Field(default=3, ge=1)

    scheduler_enabled: bool = True
    scheduler_tick_seconds: float = Field(default=1.0, gt=0)
    misfire_grace_seconds: int = Field(default=300, ge=0)

    log_level: str = "INFO"
    failure_threshold: int = Field(
        default=3, ge=1, description="Consecutive failures before auto-disable."
    )
    execution_retention_days: int = Field(default=30, ge=1)
    execution_input_max_bytes: int = Field(
        default=64 * 1024,
        ge=0,
        le=1024 * 1024,
        description="An execution record keeps its run's input (event, entity, "
        "entity_before, params, ctx) up to this much JSON, for replays; a larger input is "
        "not kept and the record is marked not replayable. 0 keeps none.",
    )

    connection_error_interval_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Repeated Kafka / MongoDB connection errors: one warning with a count "
        "per interval, and one line when the connection is back.",
    )
    metrics_scripts: str = Field(
        default="",
        description="Comma-separated script names whose runs `/metrics` labels by script "
        "(at most 50: each adds 5 counter and 9 histogram series).",
    )

    def metrics_script_names(self) -> frozenset[str]:
        return frozenset(n.strip() for n in self.metrics_scripts.split(",") if n.strip())

    # Engine limits: the defaults of every run, and the maxima a script's `limits` may ask.
    limit_timeout_ms: int = Field(default=100, ge=1, le=HARD_MAX_TIMEOUT_MS)
    limit_operations: int = Field(default=50_000, ge=1, le=HARD_MAX_OPERATIONS)
    limit_call_depth: int = Field(default=16, ge=1, le=HARD_MAX_CALL_DEPTH)
    limit_string_size: int = Field(default=64 * 1024, ge=1, le=16 * 1024 * 1024)
    limit_array_size: int = Field(default=10_000, ge=1, le=10_000_000)
    limit_memory_mb: int = Field(default=128, ge=1, le=64 * 1024)
    limit_max_timeout_ms: int = Field(default=1_000, ge=1, le=HARD_MAX_TIMEOUT_MS)
    limit_max_operations: int = Field(default=1_000_000, ge=1, le=HARD_MAX_OPERATIONS)
    limit_max_call_depth: int = Field(default=64, ge=1, le=HARD_MAX_CALL_DEPTH)

    @model_validator(mode="after")
    def _defaults_within_maxima(self) -> Settings:
        if len(self.metrics_script_names()) > 50:
            raise ValueError("ALLOY_METRICS_SCRIPTS names more than 50 scripts")
        for name in ("timeout_ms", "operations", "call_depth"):
            default, most = getattr(self, f"limit_{name}"), getattr(self, f"limit_max_{name}")
            if default > most:
                raise ValueError(
                    f"ALLOY_LIMIT_{name.upper()}={default} is above "
                    f"ALLOY_LIMIT_MAX_{name.upper()}={most}"
                )
        return self

    def script_limit_maxima(self) -> ScriptLimits:
        """The most a script's `limits` may ask for (`ALLOY_LIMIT_MAX_*`)."""
        return ScriptLimits(
            timeout_ms=self.limit_max_timeout_ms,
            max_operations=self.limit_max_operations,
            max_call_depth=self.limit_max_call_depth,
        )

    state_max_documents: int = Field(
        default=10_000, ge=1, description="State documents per tenant."
    )
    state_max_document_bytes: int = Field(
        default=16 * 1024, ge=64, description="Bytes per state document (compact JSON)."
    )
    state_max_total_bytes: int = Field(
        default=64 * 1024 * 1024, ge=1024, description="State bytes per tenant."
    )
    state_before_calls: int = Field(
        default=10, ge=0, description="store.* calls per before-hook run."
    )
    state_before_ms: float = Field(
        default=50.0, gt=0, description="Store time per before-hook run."
    )
    state_run_calls: int = Field(default=100, ge=0, description="store.* calls per other run.")
    state_run_ms: float = Field(default=1000.0, gt=0, description="Store time per other run.")
    state_purge_seconds: float = Field(
        default=60.0, gt=0, description="How often expired state documents are purged."
    )
    execution_mode: Literal["inline", "pool"] = Field(
        default="pool",
        description="`pool`: scripts run in worker processes (`runner/workers/`); `inline`: "
        "on the service's event loop, as the library API and `script check/run` do.",
    )
    worker_pool_size: int = Field(default=0, ge=0, description="Workers; 0: the CPU count.")
    worker_tenant_limit: int = Field(
        default=0, ge=0, description="Workers one tenant may hold at once; 0: all but a quarter."
    )
    worker_recycle_after: int = Field(default=1000, ge=1, description="Runs before a new worker.")
    worker_memory_mb: int = Field(default=512, ge=64, description="Address space over start-up.")
    worker_host_call_budget_ms: int = Field(
        default=2000, ge=1, description="Time one run may spend waiting on host calls (I/O)."
    )
    worker_queue_timeout_ms: int = Field(
        default=1000,
        ge=1,
        description="How long a before-hook's script may wait for a free worker before the "
        "hook is answered `error` (timeout).",
    )
    worker_quick_run_ms: float = Field(
        default=2.0,
        ge=0,
        le=100,
        description="A run whose script last took at most this long may be pipelined onto a "
        "busy worker and may borrow an idle worker beyond its tenant's cap when no other "
        "tenant waits; 0 turns both off.",
    )
    worker_nice: int = Field(
        default=5, ge=0, le=19, description="How much nicer than the service workers run."
    )
    worker_fork_server: bool = Field(
        default=True,
        description="Workers are forked by a warmed zygote (a clean interpreter started once); "
        "false: each worker is a fresh interpreter of its own.",
    )

    # HTTP bridge: the operator's caps (a script may only lower them) and egress networks.
    http_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    http_max_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    http_max_response_bytes: int = Field(default=1024 * 1024, ge=1024)
    http_max_request_bytes: int = Field(default=1024 * 1024, ge=1024)
    http_max_calls_per_run: int = Field(default=20, ge=1)
    http_max_seconds_per_run: float = Field(default=60.0, gt=0)
    egress_private_networks: str = Field(
        default="",
        description="Comma-separated CIDRs of non-public networks scripts may reach, and "
        "then only hosts a tenant's allow-list names exactly (e.g. 10.1.0.0/16, "
        "127.0.0.0/8). Empty: only public addresses.",
    )

    @field_validator("egress_private_networks")
    @classmethod
    def _cidrs(cls, value: str) -> str:
        for item in filter(None, (part.strip() for part in value.split(","))):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"not a CIDR network: {item!r}") from None
        return value


def get_settings() -> Settings:
    return Settings()
