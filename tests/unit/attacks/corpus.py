"""Data model shared by the attack corpus modules.

An `Attack` is plain data: an id, a category, the hostile script and what a *safe*
outcome looks like (`expect`).  The harness in `test_attacks.py` turns every entry into
one parametrized test.

Expectations
------------
- ``safe``      the attack tries to reach a forbidden object / capability and, if it
                succeeds, writes ``entity["pwned"] = <evidence>`` (or a file in
                ``params["tmpdir"]``, or copies the env secret).  Any status is fine as long
                as no evidence, no host-object repr and no side effect comes out.
- ``limit``     resource exhaustion that Python cannot refuse at compile time: the run
                must end with ``limit_exceeded`` or ``timeout`` (``error`` only if
                ``engine.validate`` already refuses the source), quickly, without memory
                blow-up, and the engine must keep serving.
- ``limit_or_error``  like ``limit`` but an ordinary ``error`` (OverflowError,
                ValueError, regex timeout, ...) is also a safe outcome; MemoryError,
                RecursionError and SystemError are not (they mean the guard came too late).
- ``bounded``   any status, but fast, memory-bounded, JSON-serialisable and the engine
                keeps serving (e.g. C-level recursion in comparisons, DNS look-ups).
- ``refused``   compiler-level attack: must end with ``error`` (or ``limit_exceeded``)
                quickly; ``validate`` must not raise either.
- ``ok``        ordinary business code that must succeed (over-restriction check).

Escapes are tested both ways (`test_escape_is_live`, `test_escape_is_contained`):
``evidence`` names what the attack produces when nothing stops it (plain CPython `exec`,
see `_unsandboxed.py`), and ``blocked`` names how the sandbox stops it. Evidence kinds:

- ``pwned``     ``entity["pwned"]`` is set
- ``leak``      a host repr, path or the env secret shows up in what the run hands back
- ``mutation``  the caller's entity / entity_before / params dict changed
- ``file``      a file appeared in ``params["tmpdir"]``
- ``stdout``    the script wrote to the worker's stdout
- ``escaped``   an exception an ``except Exception`` host misses, or a host that cannot
                read the result back (the worker would die)
- ``non_json``  the result is not strict JSON

``blocked``: ``validation`` (``engine.validate`` refuses it and the run ends in ``error``),
``<ErrorType>`` or ``<ErrorType>: <message fragment>`` (it validates and the run ends in
that error), ``aborted`` or ``success`` (it runs and its effect is neutralised).

Exhaustion cases name the limit they expect (``limit``): the run's ``result.limit``
(``operations``, ``string_size``, ...), ``timeout``, or for a ``limit_or_error`` case an
error type. A validation refusal counts only where ``limit`` is ``validation: <fragment>``
(the refusal is the limit, e.g. the syntax-node cap).
"""

from __future__ import annotations

import re
import sys
import sysconfig
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alloy_scripting.engine import EngineConfig

SECRET_ENV = "ALLOY_ATTACK_SECRET"
# The engine's configured wall-clock deadline: wall-time bounds are multiples of it (at
# least 5x what a case is expected to take, on a machine shared with other work).
DEADLINE = EngineConfig().timeout

# Where this checkout, the interpreter and its libraries live: a result that names one
# of them leaks the host's file layout.
CHECKOUT = Path(__file__).resolve().parents[3]
HOST_PATHS = tuple(
    sorted(
        {str(CHECKOUT), sys.prefix, sys.base_prefix, sysconfig.get_paths()["stdlib"]},
        key=len,
        reverse=True,
    )
)

# Host-object reprs / paths / addresses that must never appear in a result (to_dict() JSON).
# A neutral rendering such as "<function abort>" or "<class 'int'>" is fine; a CPython repr
# with an address, a module path or a file path is an information leak.
LEAK_PATTERNS = (
    r"<module '",
    r"<built-in ",
    r"<bound method",
    r"<function [^>]* at 0x",
    r"<class '[A-Za-z_][\w]*\.[\w.]+'>",  # module-qualified class repr (host class)
    r"<frame",
    r"<code object",
    r"<generator object [^>]* at 0x",
    r"<cell at",
    r"<traceback",
    r" at 0x[0-9a-f]{6,}",
    *(re.escape(path) for path in HOST_PATHS),
    r"site-packages",
    r"/lib/python3",
    r"Traceback \(most recent call last\)",
    r"\balloy_scripting\.",
)
LEAK_MARKERS = LEAK_PATTERNS  # backwards-compatible name

DEFAULT_ENTITY: dict[str, Any] = {
    "id": "e-1",
    "amount": 150,
    "name": "Acme",
    "status": "new",
    "tags": ["a", "b"],
    "nested": {"k": [1, 2]},
}

# An ordinary script the engine must still run correctly after any attack.
NORMAL_SCRIPT = 'total = 0\nfor i in range(100):\n    total += i\nentity["total"] = total\n'
NORMAL_TOTAL = 4950


def S(src: str) -> str:
    """Dedent a triple-quoted script."""
    return textwrap.dedent(src).strip("\n") + "\n"


@dataclass(frozen=True)
class Attack:
    id: str
    category: str
    source: str
    expect: str
    note: str = ""
    phase: str = "manual"
    event: str | None = None
    entity: dict[str, Any] | None = None
    entity_before: dict[str, Any] | None = None
    params: dict[str, Any] | None = None
    # for expect == "ok": fields of result.entity that must hold these values
    want: dict[str, Any] = field(default_factory=dict)
    # for expect == "ok": the status (default success)
    want_status: str = "success"
    # extra statuses that are also a safe outcome (e.g. "aborted")
    extra_ok: tuple[str, ...] = ()
    # wall time allowed for the execute() call, in seconds
    wall_limit: float = 2.0
    # escapes: what the attack leaves without a sandbox, and how the sandbox stops it
    evidence: str = "pwned"
    blocked: str = ""
    # escapes, pool mode only: the outcome there where it differs (`blocked` syntax)
    pool_blocked: str = ""
    # exhaustion: the limit (or error type) the run must end with
    limit: str = ""
    # exhaustion, pool mode only: another bounded limit the run may end with there (the
    # worker tier's own backstops: the parent's CPU deadline, the worker's memory limit)
    pool_limit: str = ""


@dataclass(frozen=True)
class IsolationCase:
    """Run `setup` then `probe` on the same engine; the probe must see no trace of setup.

    The setup must end with `setup_status`: ``success`` means it really planted its state
    (and without a sandbox, on a host that shares state between runs, the probe sees it:
    the positive control). Any other status makes the case a recovery check (the engine
    serves normally after a breach), which has no unsandboxed control.
    """

    id: str
    setup: str
    probe: str
    note: str = ""
    # status the probe must end with
    probe_status: str = "success"
    # for a probe that ends in error: a fragment of its error message
    probe_error: str | None = None
    # pass entity/params as None (engine defaults) instead of fresh dicts
    use_defaults: bool = False
    # a marker that must not appear anywhere in the probe result
    marker: str | None = None
    setup_status: str = "success"
    # for a recovery check: the limit the setup must breach
    setup_limit: str | None = None
    # the probe's entity fields that must hold these values
    want: dict[str, Any] = field(default_factory=dict)
