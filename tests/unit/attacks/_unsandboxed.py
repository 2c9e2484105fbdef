"""Positive controls: run attack scripts under plain CPython `exec`, with no sandbox at all.

This is the host a careless engine would be: the real ``__builtins__``, the real `json`,
`math`, `re` modules, helpers that are ordinary functions, and the caller's own dicts
handed to the script (the entity as a dict subclass that keeps the original for change
tracking, like a naive proxy would). An attack that leaves no evidence here is not live:
its sandboxed run proves nothing.

Input (stdin, JSON): a list of jobs ``{"id", "runs": [spec, ...]}``; a spec is
``{"source", "phase", "event", "entity", "entity_before", "params"}``. All runs of one job
share one host (one namespace and the engine-default dicts): that is how the isolation
cases plant state for their probe. Output (stdout, one JSON line): ``{id: [observation,
...]}``, one observation per run (see `observe`).

Every job runs in a forked child (a crash, a poisoned module or a hang stays there), so
the whole batch costs one interpreter start.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import datetime as _dt
import decimal
import hashlib
import io
import json
import math
import os
import re
import signal
import sys
import traceback
import uuid
from typing import Any

CHILD_SECONDS = 10


class Abort(Exception):
    """What a naive `abort` raises: an ordinary exception."""


class Entity(dict[str, Any]):
    """A naive entity proxy: a copy of the data that keeps the original to diff against."""

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__(data)
        self._data = data

    @property
    def id(self) -> Any:
        return self.get("id")


class Ctx(dict[str, Any]):
    """A naive `ctx`: one dict, readable and writable as items and attributes."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value


class Host:
    """One naive worker: a namespace reused across runs, engine-default inputs, outputs."""

    def __init__(self, *, capture_stdout: bool = True) -> None:
        self.capture_stdout = capture_stdout
        self.logs: list[Any] = []
        self.emits: list[Any] = []
        self.requests: list[Any] = []
        self.default_entity = Entity({})
        self.default_params: dict[str, Any] = {}
        self.namespace: dict[str, Any] = {"__builtins__": __builtins__}
        self.namespace.update(self.toolbox())

    def toolbox(self) -> dict[str, Any]:
        def log(*values: Any, sep: str = " ") -> None:
            self.logs.append(["info", sep.join(str(v) for v in values)])

        def warn(*values: Any, sep: str = " ") -> None:
            self.logs.append(["warning", sep.join(str(v) for v in values)])

        def error(*values: Any, sep: str = " ") -> None:
            self.logs.append(["error", sep.join(str(v) for v in values)])

        def emit(event_type: Any, payload: Any) -> None:
            self.emits.append([event_type, payload])

        def http_request(method: str, url: Any, **options: Any) -> str:
            self.requests.append([method, url])
            return f"{method} {url}: 200"

        def abort(reason: Any = "") -> None:
            raise Abort(reason)

        def check(*args: Any, **kwargs: Any) -> bool:
            return True

        return {
            "log": log,
            "warn": warn,
            "error": error,
            "emit": emit,
            "abort": abort,
            "http_get": lambda url, **o: http_request("GET", url, **o),
            "http_post": lambda url, **o: http_request("POST", url, **o),
            "http_request": http_request,
            **{
                f"validate_{name}": check
                for name in ("email", "required", "length", "range", "pattern", "one_of")
            },
            "json": json,
            "math": math,
            "re": re,
            "datetime": _dt.datetime,
            "date": _dt.date,
            "timedelta": _dt.timedelta,
            "timezone": _dt.timezone,
            "Decimal": decimal.Decimal,
            "b64encode": base64.b64encode,
            "b64decode": base64.b64decode,
            "sha256": hashlib.sha256,
            "uuid4": uuid.uuid4,
        }

    def run(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Run one script; what it did, as plain data."""
        entity = spec.get("entity")
        params = spec.get("params")
        entity = self.default_entity if entity is None else Entity(entity)
        params = self.default_params if params is None else params
        before = spec.get("entity_before")
        inputs = {"entity": spec.get("entity"), "entity_before": before, "params": params}
        snapshot = copy.deepcopy(inputs)
        scope = self.namespace
        scope.update(
            entity=entity,
            entity_before=before,
            params=params,
            ctx=Ctx(
                phase=spec.get("phase") or "manual",
                event=spec.get("event"),
                entity_type="deal",
                entity_id=entity.get("id"),
                tenant_id="acme",
                user_id="u-1",
                script="attack",
            ),
        )
        tmpdir = params.get("tmpdir") if isinstance(params, dict) else None
        out: dict[str, Any] = {"status": "success"}
        stdout = io.StringIO()
        with (
            contextlib.redirect_stdout(stdout) if self.capture_stdout else contextlib.nullcontext()
        ):
            try:
                exec(compile(spec["source"], "<script>", "exec"), scope)
            except Abort as e:
                out.update(status="aborted", reason=e.args[0] if e.args else "")
            except Exception as e:
                out.update(status="error", error_type=type(e).__name__, error=str(e)[:300])
            except BaseException as e:  # what an `except Exception` engine lets through
                out.update(status="escaped", error_type=type(e).__name__)
        try:
            result = scope["entity"]  # a naive engine reads the entity back from the scope
            out["entity"] = dict(result)
        except BaseException as e:
            out.update(status="host_failed", host_error=f"{type(e).__name__}: {e}")
        out["logs"] = list(self.logs)  # a naive worker never clears them
        out["emits"] = list(self.emits)
        out["stdout"] = stdout.getvalue()[:2000]
        out["mutated"] = [k for k, v in inputs.items() if _differs(v, snapshot[k])]
        out["files"] = sorted(os.listdir(tmpdir)) if isinstance(tmpdir, str) else []
        return out


def _differs(now: Any, then: Any) -> bool:
    try:
        return bool(now != then)
    except Exception:
        return True


def _repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception as e:  # e.g. an int too long to render
        return f"<unrenderable {type(value).__name__}: {type(e).__name__}>"


def observe(out: dict[str, Any]) -> dict[str, Any]:
    """The observation as JSON: `strict` says whether entity and emits are strict JSON,
    `text` is a rendering of everything the run handed back (reprs for the rest)."""
    try:
        json.dumps([out.get("entity"), out.get("emits"), out.get("reason")], allow_nan=False)
        out["strict"] = True
    except Exception:  # TypeError, ValueError, RecursionError
        out["strict"] = False
    out["pwned"] = isinstance(out.get("entity"), dict) and "pwned" in out["entity"]
    try:
        text = json.dumps(out, default=_repr)
    except Exception:  # tuple keys, cycles
        text = _repr(out)
    keep = ("status", "error_type", "error", "host_error", "stdout", "mutated", "files")
    data = {k: out[k] for k in keep if k in out}
    data.update(strict=out["strict"], pwned=out["pwned"], text=text[:20000])
    return data


def run_job(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    host = Host()
    return [observe(host.run(spec)) for spec in runs]


def in_child(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`run_job` in a forked child with an alarm; a dead child is an observation too."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 0
        try:
            os.close(read)
            sys.stdin = io.StringIO("")
            signal.alarm(CHILD_SECONDS)
            data = json.dumps(run_job(runs)).encode()
        except BaseException:
            data = json.dumps([{"status": "host_failed", "host_error": traceback.format_exc()}])
            data = data.encode()
            code = 1
        with os.fdopen(write, "wb") as pipe:
            pipe.write(data)
        os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if not data:
        return [{"status": "host_failed", "host_error": f"child ended with status {status}"}]
    observations: list[dict[str, Any]] = json.loads(data)
    return observations


def main() -> None:
    jobs = json.loads(sys.stdin.read())
    results = {job["id"]: in_child(job["runs"]) for job in jobs}
    sys.stdout.write(json.dumps(results) + "\n")


if __name__ == "__main__":
    main()
