"""The weights file between the engine and its frame process: what is written into a slot
is what is read from it, and a file or a request that does not fit is refused before
anything is mapped or read."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from engine.shared_weights import WeightsIn, WeightsOut

DTYPE_NAMES = ["float32", "float64", "int64", "int32", "uint8", "bool"]


@given(shapes=st.lists(st.tuples(st.lists(st.integers(0, 5), max_size=3),
                                 st.sampled_from(DTYPE_NAMES)), min_size=1, max_size=6),
       seed=st.integers(0, 2**31 - 1))
def test_what_goes_into_a_slot_comes_out_of_it_and_the_other_slot_is_untouched(
        tmp_path_factory, shapes, seed):
    folder = str(tmp_path_factory.mktemp("w"))
    layout = [(f"t{i}", tuple(shape), dtype) for i, (shape, dtype) in enumerate(shapes)]
    g = torch.Generator().manual_seed(seed)

    def tensors() -> list[torch.Tensor]:
        return [(torch.randn(shape, generator=g) * 50).to(getattr(torch, dtype))
                for _, shape, dtype in layout]

    out = WeightsOut(folder, layout, spec=1)
    into = WeightsIn(out.path, [list(x) for x in layout])
    try:
        first, second = tensors(), tensors()
        out.write(0, first)
        out.write(1, second)
        for slot, expected in ((0, first), (1, second)):
            got = into.arrays(slot)
            assert len(got) == len(expected)
            for a, t in zip(got, expected):
                assert a.shape == tuple(t.shape) and a.dtype == np.dtype(str(t.dtype)[6:])
                np.testing.assert_array_equal(a, t.numpy())
    finally:
        into.close()
        out.close()


def test_a_file_or_a_request_that_does_not_fit_is_refused(tmp_path):
    layout = [["G.w", [3, 2], "float32"], ["D.n", [], "int64"]]
    out = WeightsOut(str(tmp_path), layout, spec=3)
    try:
        with pytest.raises(ValueError, match="bytes for slots"):
            WeightsIn(out.path, [["G.w", [30, 20], "float32"]])  # a bigger layout
        short = tmp_path / "short.bin"
        short.write_bytes(b"\0" * 10)
        with pytest.raises(ValueError, match="10 bytes"):
            WeightsIn(str(short), layout)
        with pytest.raises(OSError):
            WeightsIn(str(tmp_path / "missing.bin"), layout)
        with pytest.raises(ValueError, match="without its weights file"):
            WeightsIn(None, layout)
        with pytest.raises(ValueError, match="bfloat16"):
            WeightsOut(str(tmp_path), [["G.w", [2], "bfloat16"]], spec=4)
        with pytest.raises(ValueError, match="malformed shape"):
            WeightsOut(str(tmp_path), [["G.w", [-1], "float32"]], spec=5)
        into = WeightsIn(out.path, layout)
        for slot in (2, -1, "1", True, 0.0):
            with pytest.raises(ValueError, match="no weights slot"):
                into.arrays(slot)
        into.close()
    finally:
        out.close()
    assert not (tmp_path / "weights-3.bin").exists()  # closing removes the file
