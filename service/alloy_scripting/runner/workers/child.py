"""The worker process: `python -I -B -m alloy_scripting.runner.workers.child`.

Started by the pool from a clean interpreter with a scrubbed environment and three pipes.
It moves its channel off fds 0 and 1 (so nothing a library prints can corrupt a frame),
reads its `init` frame (engine limits, OS limits), loads and warms the engine, confines
itself (`confine.py`), says `ready`, then serves `run` frames one at a time until its
input closes (the service may send the next runs while one runs: they wait in the pipe, or
in `Channel.queued`). Each run answers with one `result` frame of plain data; a helper that needs
I/O sends `host_call` frames and blocks for their `host_reply` (time spent waiting moves
the run's own deadline: the service counts it against the host-call budget instead).

Exit codes the pool reads: 0 done, 3 out of memory outside a run's own handling, 4 a bug.
"""

from __future__ import annotations

import functools
import os
import sys
from collections import deque
from time import perf_counter, process_time
from typing import Any, NoReturn

from alloy_scripting.runner.workers import debug_runs, protocol

EXIT_MEMORY = 3
EXIT_FAILED = 4


#: Run frames the service may send ahead of the one running (it pipelines a few).
MAX_QUEUED_RUNS = 64


class Channel:
    """The worker's end of the wire (blocking). The service sends the next runs while one
    is running, so a `run` frame that arrives while a host call waits for its reply is
    kept for `receive`."""

    def __init__(self, read_fd: int = -1, write_fd: int = -1) -> None:
        self.read_fd = read_fd
        self.write_fd = write_fd
        self.queued: deque[dict[str, Any]] = deque()

    def send(self, message: dict[str, Any], *, plain: bool = False) -> None:
        protocol.write_all(self.write_fd, protocol.encode(message, plain=plain))

    def _read(self) -> dict[str, Any]:
        return protocol.read_frame_blocking(self.read_fd, protocol.MAX_REQUEST_FRAME)

    def receive(self) -> dict[str, Any]:
        """The next request (a queued run first)."""
        return self.queued.popleft() if self.queued else self._read()

    def reply(self) -> dict[str, Any]:
        """The answer to the host call just sent (run frames meanwhile are queued)."""
        while True:
            message = self._read()
            if message.get("t") != "run":
                return message
            if len(self.queued) >= MAX_QUEUED_RUNS:
                raise protocol.ProtocolError("too many runs sent ahead")
            self.queued.append(message)


def _take_channel() -> Channel:
    read_fd, write_fd = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)  # stray output goes to the log pipe, never into a frame
    return Channel(read_fd, write_fd)


def _worker_engine(config: Any, channel: Channel) -> Any:
    """A `ScriptEngine` whose host functions (`bridge.host_calls`) call the service."""
    from alloy_scripting.bridge.host import unavailable
    from alloy_scripting.bridge.host_calls import HOST_FUNCTIONS
    from alloy_scripting.bridge.state.namespace import STORE, bound_store
    from alloy_scripting.engine import ScriptEngine

    class WorkerEngine(ScriptEngine):
        def _helper(self, name: str, phase: Any, run: Any) -> Any:
            if run.effects is not None:  # a debug run: intents, never a host call
                return super()._helper(name, phase, run)
            if name == STORE:  # a namespace of host calls, one per operation
                return bound_store(
                    phase,
                    lambda op: functools.partial(
                        _host_call, channel, HOST_FUNCTIONS[f"{STORE}.{op}"], run
                    ),
                    unavailable,
                )
            function = HOST_FUNCTIONS.get(name)
            if function is None or phase not in function.phases:
                return super()._helper(name, phase, run)
            return functools.partial(_host_call, channel, function, run)

    return WorkerEngine(config)


def _host_call(channel: Channel, function: Any, run: Any, *args: Any, **kwargs: Any) -> Any:
    arguments = function.prepare(run, args, kwargs)
    started = perf_counter()
    channel.send({"t": "host_call", "name": function.name, "args": arguments}, plain=function.plain)
    reply = channel.reply()
    run.deadline += perf_counter() - started  # the wait is the host budget's, not the CPU's
    if reply.get("t") != "host_reply":
        raise protocol.ProtocolError("expected a host_reply")
    if reply.get("ok") is True:
        return reply.get("value")
    if reply.get("limit"):
        run.fail(str(reply["limit"]), str(reply.get("error", "")))
    from alloy_scripting.bridge.host_calls import host_error

    raise host_error(reply, function.name)


_WARM_UP = """
total = 0
for item in entity.get("items", []):
    total += item["qty"] * Decimal(str(item["price"]))
entity["total"] = str(total.quantize(Decimal("0.01")))
entity["ok"] = validate_email("a@example.com") and validate_pattern("ab", "[a-z]+")
log(json.dumps({"n": len(entity)}), re.sub("a", "b", "aaa"), math.floor(1.5), ctx.phase)
d = datetime.now(timezone.utc) + timedelta(days=1)
entity["when"] = d.isoformat()[:4] + f"{sorted([3, 1])}" + sha256("x")[:2]
"""


def _warm(engine: Any) -> None:
    """Load what a first run would load lazily, before the filter is on."""
    engine.execute(
        _WARM_UP,
        phase="manual",
        entity={"items": [{"qty": 1, "price": 2.5}]},
        ctx={"entity_id": "warm", "entity_type": "warm"},
    )


def _limits(raw: Any) -> Any:
    """The script's own limits of a run frame (None: the engine's)."""
    if raw is None:
        return None
    from pydantic import ValidationError

    from alloy_scripting.model.limits import ScriptLimits

    try:
        return ScriptLimits.model_validate(raw)
    except ValidationError as error:
        raise protocol.ProtocolError(f"invalid limits: {error.errors()[0]['msg']}") from None


def _run(engine: Any, channel: Channel, request: dict[str, Any]) -> dict[str, Any]:
    source = request["source"]
    if not isinstance(source, str):
        raise protocol.ProtocolError("source must be a str")
    debug = request.get("debug")
    if debug is not None and not isinstance(debug, dict):
        raise protocol.ProtocolError("debug must be an object")
    traced = debug is not None and debug.get("trace") is True
    if not traced and engine.cache.lookup(source) is None:  # a traced compile is never cached
        engine.compile(source)
        channel.send({"t": "started"})
    cpu = process_time()
    debug_part = None
    if debug is not None:
        limits = _limits(request.get("limits"))
        result, debug_part = debug_runs.run_in_worker(engine, request, debug, limits)
    else:
        result = engine.execute(
            source, limits=_limits(request.get("limits")), **protocol.run_inputs(request)
        )
    frame = {
        "t": "result",
        "id": request.get("id"),
        "status": result.status.value,
        "changes": result.changes,
        "removed": list(result.removed),
        "reason": result.reason,
        "error": None if result.error is None else result.error.to_dict(),
        "limit": result.limit,
        "logs": [[entry.level, entry.message] for entry in result.logs],
        "operations": result.operations,
        "duration_ms": result.duration_ms,
        "cpu_ms": (process_time() - cpu) * 1000,  # what the deadline is about
        "cpu_total": process_time(),
        "response": None if result.response is None else result.response.to_dict(),
    }
    if debug_part is None:
        return frame
    frame["debug"] = debug_part
    return debug_runs.fit(frame)


def load(init: dict[str, Any], channel: Channel) -> Any:
    """Below the service's priority, the engine built and warmed: what every worker starts
    from (a forked worker inherits it from the zygote, `zygote.py`)."""
    nice = init.get("nice", 0)
    if type(nice) is int and 0 < nice <= 19:
        os.nice(nice)  # below the service's event loop: scripts never delay its answers
    from alloy_scripting.engine import EngineConfig

    engine = _worker_engine(EngineConfig(**init["engine"]), channel)
    _warm(engine)
    return engine


def serve_runs(engine: Any, channel: Channel, init: dict[str, Any]) -> NoReturn:
    """Confine this process, say `ready`, then serve runs until the channel closes."""
    from alloy_scripting.runner.workers.confine import confine

    confinement = confine(
        memory_limit=int(init["memory_limit"]), cpu_seconds=int(init["cpu_seconds"])
    )
    channel.send(
        {"t": "ready", "pid": os.getpid(), "cpu_total": process_time(), **confinement.to_dict()}
    )
    while True:
        try:
            request = channel.receive()
        except protocol.ProtocolError:
            os._exit(0)  # the service closed the channel: done
        if request.get("t") != "run":
            os._exit(EXIT_FAILED)
        # A result holds what the engine checked: JSON values, finite floats.
        channel.send(_run(engine, channel, request), plain=True)


def serve(channel: Channel) -> NoReturn:
    init = channel.receive()
    serve_runs(load(init, channel), channel, init)


def exit_code(error: BaseException) -> int:
    """The exit code of a worker ended by `error`; a bug of ours or a broken channel is
    reported on stderr first."""
    if isinstance(error, MemoryError):
        return EXIT_MEMORY
    try:
        sys.stderr.write(f"alloy worker failed: {type(error).__name__}: {error}\n"[:2000])
        sys.stderr.flush()
    except BaseException:
        pass
    return EXIT_FAILED


def main() -> None:
    channel = _take_channel()
    code = EXIT_FAILED
    try:
        serve(channel)
    except BaseException as error:
        code = exit_code(error)
    os._exit(code)


if __name__ == "__main__":
    main()
