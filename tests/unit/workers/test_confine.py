"""What a confined worker can no longer do (a real process, confined as workers are)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

PROBE = textwrap.dedent(
    """
    import json, os, socket, sys, resource
    from alloy_scripting.runner.workers.confine import confine

    done = confine(memory_limit=256 * 1024 * 1024, cpu_seconds=30)
    tried = {}

    def attempt(name, action):
        try:
            action()
            tried[name] = "allowed"
        except MemoryError:
            tried[name] = "MemoryError"
        except (OSError, ValueError) as error:
            tried[name] = type(error).__name__

    attempt("socket", lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    attempt("unix socket", lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
    attempt("exec", lambda: os.execv("/bin/true", ["true"]))
    attempt("fork", lambda: os.fork() or None)
    attempt("write file", lambda: open(sys.argv[1], "w"))
    attempt("append file", lambda: open(sys.argv[1] + ".a", "a"))
    attempt("remove file", lambda: os.remove(sys.argv[2]))
    attempt("signal parent", lambda: os.kill(os.getppid(), 0))
    attempt("raise limits", lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024)))
    attempt("read file", lambda: open(sys.argv[2]).read())
    attempt("huge allocation", lambda: bytearray(1024 * 1024 * 1024))
    print(json.dumps({"seccomp": done.seccomp, "limits": done.limits, "tried": tried}))
    """
)


def test_a_confined_worker_has_no_network_exec_fork_or_writes(tmp_path) -> None:
    target = tmp_path / "written"
    existing = tmp_path / "existing"
    existing.write_text("data")
    completed = subprocess.run(
        [sys.executable, "-c", PROBE, str(target), str(existing)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    assert report["seccomp"] == "on"  # libseccomp is on this machine: the filter must load
    denied = {name: outcome for name, outcome in report["tried"].items() if outcome != "allowed"}
    assert set(denied) == {
        "socket", "unix socket", "exec", "fork", "write file", "append file", "remove file",
        "signal parent", "raise limits", "huge allocation",
    }, report  # fmt: skip
    assert denied["huge allocation"] == "MemoryError"
    assert report["tried"]["read file"] == "allowed"
    assert not target.exists() and existing.exists()
    assert report["limits"]["RLIMIT_FSIZE"] == 0 and report["limits"]["RLIMIT_NPROC"] == 0
    assert os.path.exists(existing)
