"""The one reader of safetensors metadata, torch-free: checkpoints, the classifier cache and
the window's autosave all ask it what a file holds before loading any tensor.

``safe_open(path, "numpy")`` reads the header only (the tensors stay on disk), needs no
torch, and refuses a header that does not describe the file (offsets past its end, a
header larger than safetensors' own limit). A non-regular file (a FIFO, a device) is
refused before it is opened, since reading it could block or never end.
"""

from __future__ import annotations

from safetensors import safe_open

from .safeio import check_regular


def read_metadata(path: str, what: str = "a checkpoint file") -> dict[str, str]:
    """The string metadata of a safetensors file; ValueError (one line) when it is not one."""
    st = check_regular(str(path), what)
    if st.st_size < 8:
        raise ValueError(f"{path}: {'the file is empty' if not st.st_size else 'too short'}, "
                         f"not {what}")
    try:
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata()
    except Exception as e:  # safetensors raises several types for a bad or truncated file
        first = (str(e).splitlines() or [type(e).__name__])[0][:80]
        raise ValueError(f"{path}: not {what} (unreadable or truncated: {first})") from None
    return {str(k): str(v) for k, v in (meta or {}).items()}
