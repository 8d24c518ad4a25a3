"""Reading files a user points at, safely: regular files only, never more than a cap.

(Placeholder interface; the hardened version lands from the files branch.)
"""

from __future__ import annotations

import os
import stat


def check_regular(path: str, what: str) -> os.stat_result:
    """The file's stat, or a one-line ValueError when it is missing or not a regular file
    (a folder, a FIFO, a device): reading those would hang or never end."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file; expected {what}") from None
    except OSError as e:
        raise ValueError(f"{path}: cannot be read ({e.strerror or e}); expected {what}") from None
    if stat.S_ISDIR(st.st_mode):
        raise ValueError(f"{path}: is a folder; expected {what}")
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{path}: not a regular file; expected {what}")
    return st


def read_capped(path: str, cap: int, what: str) -> bytes:
    """A regular file's bytes, refused when larger than ``cap`` bytes."""
    st = check_regular(path, what)
    if st.st_size > cap:
        raise ValueError(f"{path}: {st.st_size:,} bytes is more than the {cap:,} bytes "
                         f"{what} may hold")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            data = f.read(cap + 1)
    except OSError as e:
        raise ValueError(f"{path}: cannot be read ({e.strerror or e})") from None
    if len(data) > cap:
        raise ValueError(f"{path}: more than the {cap:,} bytes {what} may hold")
    return data
