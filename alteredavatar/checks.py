"""Range checks for numeric options: one `ConfigError` line naming the flag and the value.

Every numeric flag of every command goes through `check_range`, so nan, inf and out-of-range values are
refused before any work (they used to surface as torch tracebacks or as styles full of NaN).
"""

from __future__ import annotations

import math

from alteredavatar.errors import ConfigError

MAX_SEED = 2**63 - 1  # torch.Generator.manual_seed takes at most 64 bits


def check_range(
    flag: str, value: float, lo: float | None = None, hi: float | None = None, *, lo_open: bool = False
) -> None:
    """Raise `ConfigError` unless `value` is a finite number in [lo, hi] ((lo, hi] with `lo_open`)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (lo is None or (value > lo if lo_open else value >= lo)) and (hi is None or value <= hi)
    if not ok:
        raise ConfigError(f"{flag} must be {_interval(lo, hi, lo_open)}, got {value}")


def check_seed(flag: str, value: int) -> None:
    check_range(flag, value, 0, MAX_SEED)


def _num(x: float) -> str:
    return str(x) if isinstance(x, int) else f"{x:g}"


def _interval(lo: float | None, hi: float | None, lo_open: bool) -> str:
    if lo is None and hi is None:
        return "a finite number"
    if hi is None:
        return f"finite and {'>' if lo_open else '>='} {_num(lo)}"
    if lo is None:
        return f"finite and <= {_num(hi)}"
    return f"in {'(' if lo_open else '['}{_num(lo)}, {_num(hi)}]"
