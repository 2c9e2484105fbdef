"""The isolated execution tier: scripts run in worker processes, never on the event loop.

`protocol` (frames, plain JSON both ways), `child` (the worker's entry point), `confine`
(its OS limits and seccomp filter), `process` (the service's handle on one worker and the
deadline), `results` (a worker's answer checked back into an `ExecutionResult`),
`fairness` (per-tenant queues), `pool` (`WorkerPool`), `metrics`.
"""

from alloy_scripting.runner.workers.pool import (
    PoolConfig,
    QueueTimeout,
    RunRequest,
    WorkerPool,
    available_cpus,
    default_per_tenant,
)

__all__ = [
    "PoolConfig",
    "QueueTimeout",
    "RunRequest",
    "WorkerPool",
    "available_cpus",
    "default_per_tenant",
]
