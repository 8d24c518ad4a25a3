"""Typed parameter specs: one place that turns user input into a validated value.

Every config key (a preset field, a ``--set`` value, a widget change) goes through
``Param.coerce``, so a bad value gets the same one-line message everywhere and nothing is
half-applied.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

# The largest |x| or |y| of a drawn or imported point. The data are float32 on the device,
# and the training and the views square them (variances, distances, the views' KDE): beyond
# float32's 3.4e38 a point is inf, and far below it its square already is (a heatmap over an
# infinite box, NaN norms). 1e6 keeps squares under 1e12; the built-in sets stay within 500.
POINT_LIMIT = 1e6


@dataclass(frozen=True)
class Param:
    kind: str  # int | int_choice | float | str | path | bool | choice | int_list | float_list | float_pair | points
    default: Any
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] | None = None
    help: str = ""
    max_len: int = 8

    def allowed(self) -> str:
        if self.kind in ("choice", "int_choice"):
            return "one of " + ", ".join(self.choices or ())
        if self.kind == "path":
            return "a file or folder path"
        if self.kind in ("int", "float"):
            return f"a{'n integer' if self.kind == 'int' else ' number'} in [{_fmt(self.lo)}, {_fmt(self.hi)}]"
        if self.kind == "int_list":
            return (f"a list of 1 to {self.max_len} integers (separated by commas or spaces), "
                    f"each in [{_fmt(self.lo)}, {_fmt(self.hi)}]")
        if self.kind == "float_pair":
            return f"two numbers, each in [{_fmt(self.lo)}, {_fmt(self.hi)})"
        if self.kind == "points":
            return f"a non-empty list of [x, y] pairs of numbers within ±{POINT_LIMIT:g}"
        if self.kind == "float_list":
            return (f"a list of 1 to {self.max_len} numbers, each in [{_fmt(self.lo)}, {_fmt(self.hi)}]")
        if self.kind == "bool":
            return "true or false"
        return "a string"

    def coerce(self, key: str, value: Any) -> Any:
        """Return the normalised value or raise ValueError naming the key and what is allowed."""

        def bad(why: str = "") -> ValueError:
            return ValueError(f"{key}: {why or 'got ' + shown(value)}; allowed: {self.allowed()}")

        k = self.kind
        if k == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
                return value.lower() in ("true", "1", "yes")
            raise bad()
        if k == "str":
            if not isinstance(value, str):
                raise bad()
            return value
        if k == "path":
            if not isinstance(value, str):
                raise bad()
            return value.strip()
        if k == "int_choice":
            v = _as_int(value)
            if v is None or str(v) not in (self.choices or ()):
                raise bad()
            return v
        if k == "choice":
            if not isinstance(value, str) or value not in (self.choices or ()):
                raise bad()
            return value
        if k == "int":
            v = _as_int(value)
            if v is None:
                raise bad()
            if (self.lo is not None and v < self.lo) or (self.hi is not None and v > self.hi):
                raise bad(f"{shown(v)} is out of range")
            return v
        if k == "float":
            v = _as_float(value)
            if v is None:
                raise bad()
            if (self.lo is not None and v < self.lo) or (self.hi is not None and v > self.hi):
                raise bad(f"{v:g} is out of range")
            return v
        if k == "int_list":
            if isinstance(value, int | float | str) and not isinstance(value, bool):
                value = _parse_list(value)
            if not isinstance(value, list | tuple) or not 1 <= len(value) <= self.max_len:
                raise bad("got an empty list" if isinstance(value, list | tuple) and not value else "")
            out = []
            for item in value:
                v = _as_int(item)
                if v is None or (self.lo is not None and v < self.lo) or (self.hi is not None and v > self.hi):
                    raise bad()
                out.append(v)
            return out
        if k == "float_list":
            if isinstance(value, int | float | str) and not isinstance(value, bool):
                value = _parse_list(value)
            if not isinstance(value, list | tuple) or not 1 <= len(value) <= self.max_len:
                raise bad("got an empty list" if isinstance(value, list | tuple) and not value else "")
            out_l = []
            for item in value:
                v = _as_float(item)
                if v is None or (self.lo is not None and v < self.lo) or (self.hi is not None and v > self.hi):
                    raise bad()
                out_l.append(v)
            return out_l
        if k == "float_pair":
            if isinstance(value, str):
                value = _parse_list(value)
            if not isinstance(value, list | tuple) or len(value) != 2:
                raise bad()
            out_f = []
            for item in value:
                v = _as_float(item)
                if v is None or (self.lo is not None and v < self.lo) or (self.hi is not None and v >= self.hi):
                    raise bad()
                out_f.append(v)
            return out_f
        if k == "points":
            if not isinstance(value, list | tuple) or not value:
                raise bad("got no points")
            if len(value) > self.max_len:
                raise bad(f"got {len(value):,} points, more than {self.max_len:,}")
            pts = []
            for item in value:
                if not isinstance(item, list | tuple) or len(item) != 2:
                    raise bad()
                xy = [_as_float(item[0]), _as_float(item[1])]
                if xy[0] is None or xy[1] is None:
                    raise bad()
                # larger numbers break float32 data (see POINT_LIMIT), not at once but later
                if max(abs(xy[0]), abs(xy[1])) > POINT_LIMIT:
                    raise bad(f"{shown(item)} is beyond ±{POINT_LIMIT:g}")
                pts.append(xy)
            return pts
        raise AssertionError(f"unknown param kind {k}")


def shown(value: Any, limit: int = 60) -> str:
    """A value as it appears in a message: never a 400-digit number or a whole list."""
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # a huge int's repr can itself refuse
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _fmt(x: float | None) -> str:
    if x is None:
        return "..."
    return f"{x:g}"


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if len(text) > 30:  # no setting needs more digits; int() of a long string is slow
            return None
        try:
            return int(text)
        except ValueError:
            return None
    return None


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            v = float(value)
        except OverflowError:  # an integer too large for a float
            return None
    elif isinstance(value, str):
        try:
            v = float(value.strip())
        except (ValueError, OverflowError):
            return None
    else:
        return None
    return v if math.isfinite(v) else None


# Between list items: commas, semicolons or white space ("128,128", "128 128", "128; 128"),
# and "x" or "×" between two numbers ("128x128", as the preset library writes widths).
_LIST_SEPARATORS = re.compile(r"(?<=\d)\s*[x×]\s*(?=\d)|\s*[,;]\s*|\s+")


def _parse_list(value: Any) -> Any:
    """Accept "128,128", "128 128", "128x128", "[128, 128]" or a bare number as list input
    from a text field or the command line."""
    if isinstance(value, int | float):
        return [value]
    text = str(value).strip().strip("[]()").strip()
    if not text:
        return []
    return [t.strip() for t in _LIST_SEPARATORS.split(text)]
