"""What a worker process gives up before it runs its first script (runs in the worker).

* OS limits (`setrlimit`, soft = hard): address space (the interpreter as loaded plus
  `memory_limit`), open files, processes (no fork), file size 0 (no file is ever written),
  no core dumps, and CPU seconds as a backstop for a worker the service lost track of.
* A seccomp filter (libseccomp through its Python bindings: Debian's `python3-seccomp`
  module `seccomp` when the interpreter has it, else the ctypes binding `pyseccomp` from
  PyPI, both on the system's libseccomp): the default is to allow, and the calls a worker
  never needs fail with `EPERM`: every socket call, exec, fork and clone, ptrace and
  access to other processes' memory, signals to any process but itself, opening a file for
  writing, creating, renaming or deleting files, raising its own limits, namespaces,
  mounts, BPF, perf, keyrings, io_uring, module loading. An allow-list would be tighter,
  but the set of calls CPython, its allocator and the C extensions we load make differs
  between versions and C libraries; a deny-list of what an escape needs is robust.
  Where the kernel or the bindings are missing, the worker runs without the filter and
  says so in its `ready` message, which the service logs once.
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
from dataclasses import dataclass
from typing import Any

_DENIED_ALWAYS = (
    "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4",
    "execve", "execveat", "fork", "vfork", "clone", "clone3",
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_open", "pidfd_getfd",
    "pidfd_send_signal", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
    "creat", "unlink", "unlinkat", "rename", "renameat", "renameat2", "mkdir", "mkdirat",
    "rmdir", "link", "linkat", "symlink", "symlinkat", "chmod", "fchmod", "fchmodat",
    "chown", "fchown", "lchown", "fchownat", "truncate", "ftruncate", "mknod", "mknodat",
    "setrlimit", "mount", "umount2", "pivot_root", "chroot", "setns", "unshare",
    "bpf", "perf_event_open", "keyctl", "add_key", "request_key", "userfaultfd",
    "io_uring_setup", "kexec_load", "kexec_file_load", "init_module", "finit_module",
    "delete_module", "reboot", "swapon", "swapoff", "open_by_handle_at", "name_to_handle_at",
    "openat2", "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid",
    "setgroups", "prctl", "personality", "memfd_create", "mq_open", "shmget", "msgget",
    "semget",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Confinement:
    """What `confine` managed: the limits set, and whether the seccomp filter is on."""

    limits: dict[str, int]
    seccomp: str

    def to_dict(self) -> dict[str, Any]:
        return {"limits": self.limits, "seccomp": self.seccomp}


def confine(*, memory_limit: int, cpu_seconds: int, open_files: int = 32) -> Confinement:
    limits = _set_limits(memory_limit, cpu_seconds, open_files)
    return Confinement(limits, _seccomp())


def _address_space() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _set_limits(memory_limit: int, cpu_seconds: int, open_files: int) -> dict[str, int]:
    wanted = {
        "RLIMIT_CPU": cpu_seconds,
        "RLIMIT_NOFILE": open_files,
        "RLIMIT_NPROC": 0,
        "RLIMIT_FSIZE": 0,
        "RLIMIT_CORE": 0,
    }
    with contextlib.suppress(OSError, ValueError, IndexError):
        wanted["RLIMIT_AS"] = _address_space() + memory_limit
    applied: dict[str, int] = {}
    for name, value in wanted.items():
        kind = getattr(resource, name, None)
        if kind is None:
            continue
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(kind, (value, value))
            applied[name] = value
    return applied


def _bindings() -> Any:
    try:
        import seccomp  # type: ignore[import-not-found]  # Debian's python3-seccomp
    except ImportError:
        import pyseccomp as seccomp  # type: ignore[import-untyped]  # ctypes, from PyPI
    return seccomp


def _seccomp() -> str:
    """'on', or 'off: <why>'."""
    try:
        sc = _bindings()
        deny = sc.ERRNO(errno.EPERM)
        rules = sc.SyscallFilter(defaction=sc.ALLOW)
        for name in _DENIED_ALWAYS:
            with contextlib.suppress(Exception):  # a call this kernel or libseccomp lacks
                rules.add_rule(deny, name)
        own = os.getpid()
        # Signals only to itself (CPython's abort() and raise() use them).
        rules.add_rule(deny, "kill", sc.Arg(0, sc.NE, own))
        rules.add_rule(deny, "tgkill", sc.Arg(0, sc.NE, own))
        rules.add_rule(deny, "tkill", sc.Arg(0, sc.NE, own))
        # Files may be opened for reading only (lazy imports, time zones).
        for name, flags in (("open", 1), ("openat", 2)):
            for mode in (os.O_WRONLY, os.O_RDWR):
                rules.add_rule(deny, name, sc.Arg(flags, sc.MASKED_EQ, os.O_ACCMODE, mode))
            rules.add_rule(deny, name, sc.Arg(flags, sc.MASKED_EQ, os.O_CREAT, os.O_CREAT))
        # Limits may be read, never changed.
        rules.add_rule(deny, "prlimit64", sc.Arg(2, sc.NE, 0))
        rules.load()
    except Exception as error:  # no bindings, no libseccomp, a kernel without seccomp
        return f"off: {type(error).__name__}: {error}"[:300]
    return "on"
