"""Control-flow exceptions of the engine.

They derive from `BaseException`, and scripts can only name (and so catch) subclasses of
`Exception`: neither `try/except` nor a bare `except:` (rewritten to `except Exception:`)
in a script can swallow an abort or a limit breach.

They are also *sticky*: creating one registers it with the run active on this thread (if
the script has a per-run state, see `runtime.Run`), so that even when Python replaces it
with another exception (one raised in a `finally:` block, a `StopIteration` taken by C
iteration code for the end of a loop, ...) every later tick, user function call and
`except` handler re-raises it, and the run's result reports it.
"""

from __future__ import annotations

import re
import threading
from typing import Any

_active = threading.local()


def active_run() -> Any:
    """The `Run` executing on this thread, if any."""
    return getattr(_active, "run", None)


def set_active_run(run: Any) -> Any:
    """Make `run` the active run of this thread; returns the previous one."""
    previous = getattr(_active, "run", None)
    _active.run = run
    return previous


_SURROGATES = re.compile("[\ud800-\udfff]")


def escape_surrogates(text: str) -> str:
    """Lone surrogates (`chr(0xD800)`) cannot be encoded as UTF-8 and so cannot leave the
    process in a log line, a message or an abort reason: they are written as `\\ud800`."""
    if text.isascii() or _SURROGATES.search(text) is None:
        return text
    return _SURROGATES.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


class ScriptControl(BaseException):
    """Ends a script run; never catchable by the script."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        run = getattr(_active, "run", None)
        if run is not None:
            run.record(self)

    def again(self) -> ScriptControl:
        """A fresh instance to re-raise (the first one stays the run's outcome)."""
        fresh = BaseException.__new__(type(self))
        fresh.__dict__.update(self.__dict__)
        fresh.args = self.args
        return fresh


class ScriptAbort(ScriptControl):
    """`abort(reason)` was called: a business outcome, status `aborted`."""

    def __init__(self, reason: str) -> None:
        reason = escape_surrogates(reason)  # the reason leaves the process as UTF-8
        self.reason = reason  # set before registering with the run
        super().__init__(reason)


class LimitExceeded(ScriptControl):
    """A limit was hit: status `timeout` for `limit == "timeout"`, else `limit_exceeded`."""

    def __init__(self, limit: str, detail: str = "") -> None:
        self.limit = limit  # set before registering with the run
        self.detail = detail
        super().__init__(limit, detail)

    def __str__(self) -> str:
        return self.detail or f"{self.limit} limit exceeded"


def first_control(error: BaseException | None) -> ScriptControl | None:
    """The earliest limit breach (else the earliest abort) in `error`'s context chain."""
    earliest_limit: ScriptControl | None = None
    earliest: ScriptControl | None = None
    hops = 0
    while error is not None and hops < 1_000_000:
        if isinstance(error, ScriptControl):
            earliest = error
            if isinstance(error, LimitExceeded):
                earliest_limit = error
        error = error.__context__
        hops += 1
    return earliest_limit or earliest
