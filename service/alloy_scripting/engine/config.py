"""`EngineConfig`: every limit of the sandbox, with the seed's defaults."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Limits of one script run. All sizes are counts of characters / items / bytes.

    * `max_operations`: loop iterations, comprehension steps, user function calls and items
      pulled by iterable-consuming builtins (`sum`, `sorted`, `list`, ...).
    * `max_call_depth`: nesting of user-defined function calls.
    * `timeout`: wall-clock seconds, **enforced** (status `timeout`); `warn_after` only logs.
    * `max_string_size` / `max_array_size`: any str / list, tuple, dict, set produced by a
      guarded operation (repetition, concatenation, join, padding, formatting, ...).
    * `max_int_bits`: results of `*`, `**` and `<<` on integers (4096 bits is about 1233
      decimal digits; parsing `int("...")` is bounded separately by Python's 4300 digits).
    * `max_changes_size`: JSON size of the entity changes; `max_emit_payload_size`: JSON
      size of one `emit()` payload (limit `payload_size`), `max_emit_total_size`: of all of
      them (limit `emits`, like `max_emits`).
    * `max_log_entries` / `max_log_message`: captured log lines (count breach = limit
      `log_size`; longer messages are truncated; a value whose text would exceed
      `max_string_size` is a `string_size` breach, as for `str()`).
    * `regex_timeout`: seconds per regular-expression call (limit `regex_timeout`).
    * `cache_size`: compiled scripts kept in the LRU cache.
    * `max_source_size`: characters of script source accepted by the compiler.
    * `max_nesting`: depth of nested containers rendered, serialised or returned.
    * `max_memory`: bytes the process's peak resident memory may grow during one run
      (limit `memory`). A safety net checked every 256 operations: the per-object limits
      above bound each allocation, but not how many a loop keeps alive (slices, copies).
    """

    max_operations: int = 50_000
    max_call_depth: int = 16
    timeout: float = 0.1
    warn_after: float = 0.05
    max_string_size: int = 64 * 1024
    max_array_size: int = 10_000
    max_int_bits: int = 4096
    max_changes_size: int = 256 * 1024
    max_log_entries: int = 100
    max_log_message: int = 2048
    max_emits: int = 100
    max_emit_payload_size: int = 64 * 1024
    max_emit_total_size: int = 256 * 1024
    regex_timeout: float = 0.05
    cache_size: int = 512
    max_source_size: int = 128 * 1024
    max_nesting: int = 100
    max_memory: int = 128 * 1024 * 1024

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(
                    f"EngineConfig.{item.name} must be a positive number, got {value!r}"
                )

    @property
    def max_range(self) -> int:
        """Longest `range()` a script may create: longer ones could never be iterated within
        `max_operations`, and `x in range(...)` scans them in C for non-int `x`."""
        return max(10 * self.max_operations, self.max_array_size)
