"""Run one attack in a fresh interpreter and report measurements as one JSON line.

Input (stdin, JSON): {"source", "phase", "event", "entity", "entity_before", "params"}.
Output (stdout, last line, JSON): status/error/limit of the result, wall time of the
`execute` call, ru_maxrss growth, size of the result JSON, whether `execute` or
`to_dict` raised, whether `validate` raised, and whether the engine still runs an
ordinary script afterwards.

A soft RLIMIT_AS keeps a memory bomb from taking the machine down; a MemoryError that
comes out of it is reported (and counted as a failure by the harness).
"""

from __future__ import annotations

import json
import resource
import sys
import time
import traceback

MEM_HEADROOM_MB = 2048
NORMAL_SCRIPT = 'total = 0\nfor i in range(100):\n    total += i\nentity["total"] = total\n'


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _vm_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def main() -> None:
    spec = json.loads(sys.stdin.read())
    out: dict = {}
    import importlib
    import os

    target = os.environ.get("ALLOY_ATTACKS_ENGINE", "alloy_scripting.engine:create_default_engine")
    module_name, _, factory = target.partition(":")
    engine = getattr(importlib.import_module(module_name), factory)()
    warm = engine.execute(NORMAL_SCRIPT, phase="manual", entity={"id": "warm"})
    out["warm_status"] = str(warm.status)

    soft = int((_vm_mb() + MEM_HEADROOM_MB) * 1024 * 1024)
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))

    # validate() must never raise either
    t0 = time.perf_counter()
    try:
        diags = engine.validate(spec["source"], phase=spec.get("phase"))
        out["validate_errors"] = sum(
            1 for d in diags if str(getattr(d, "severity", "error")).lower().endswith("error")
        )
        out["validate_first"] = str(getattr(diags[0], "message", ""))[:300] if diags else ""
    except BaseException as e:
        out["validate_raised"] = f"{type(e).__name__}: {str(e)[:300]}"
    out["validate_wall"] = time.perf_counter() - t0

    rss0 = _maxrss_mb()
    kwargs = {
        "phase": spec.get("phase") or "manual",
        "entity": spec.get("entity"),
        "params": spec.get("params"),
    }
    if spec.get("event"):
        kwargs["event"] = spec["event"]
    if spec.get("entity_before") is not None:
        kwargs["entity_before"] = spec["entity_before"]
    t0 = time.perf_counter()
    result = None
    try:
        result = engine.execute(spec["source"], **kwargs)
    except BaseException as e:
        out["execute_raised"] = f"{type(e).__name__}: {str(e)[:300]}"
        out["execute_traceback"] = traceback.format_exc()[-2000:]
    out["wall"] = time.perf_counter() - t0

    if result is not None:
        out["status"] = str(result.status)
        err = getattr(result, "error", None)
        out["error_type"] = str(getattr(err, "type", "")) if err else ""
        out["error_message"] = str(getattr(err, "message", ""))[:500] if err else ""
        out["limit"] = str(getattr(result, "limit", "") or "")
        try:
            changes = dict(result.changes or {})
            out["pwned"] = "pwned" in changes or "pwned" in dict(result.entity or {})
            t1 = time.perf_counter()
            dumped = json.dumps(result.to_dict())
            out["dump_wall"] = time.perf_counter() - t1
            out["dump_size"] = len(dumped)
            out["dump_head"] = dumped[:1500]
        except BaseException as e:
            out["dump_raised"] = f"{type(e).__name__}: {str(e)[:300]}"
    out["rss_delta_mb"] = _maxrss_mb() - rss0
    del result

    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
    try:
        after = engine.execute(NORMAL_SCRIPT, phase="manual", entity={"id": "after"})
        out["after_status"] = str(after.status)
        out["after_ok"] = (
            str(after.status) == "success" and dict(after.entity or {}).get("total") == 4950
        )
    except BaseException as e:
        out["after_ok"] = False
        out["after_raised"] = f"{type(e).__name__}: {str(e)[:300]}"

    sys.stdout.write("\n@@RESULT@@" + json.dumps(out) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
