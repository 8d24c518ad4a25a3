"""The wire between window and engine: every message round-trips exactly, and anything
unknown, truncated, oversized, unsigned or malformed is refused with a ProtocolError,
never a crash and never pickle."""

from __future__ import annotations

import dataclasses
import json
import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import protocol as P
from engine.snapshot import Snapshot, ViewRequest

KEY = b"k" * 32


def roundtrip(msg, key=KEY):
    return P.decode([bytes(f) for f in P.encode(msg, key)], key)


def _snapshot() -> Snapshot:
    rng = np.random.default_rng(0)
    return Snapshot(step=7, fake=rng.random((5, 2), dtype=np.float32),
                    real=rng.random((5, 2), dtype=np.float32),
                    heatmap=rng.random((4, 4)).astype(np.float32), box=(-1.0, 1.0, -2.0, 2.5),
                    heatmap_is_probability=True, d_updates=3, g_updates=2, loss_name="hinge",
                    view_z=rng.random((5, 2), dtype=np.float32), dstar_gap=0.25,
                    images_fake=rng.random((2, 1, 3, 3), dtype=np.float32),
                    labels_fake=np.array([0, 1]), class_names=("cat", "dog"))


EXAMPLES = [
    P.Apply({"optim.d.lr": 1e-3, "data.points": [[1.0, 2.0], [3.5, -1.0]], "seed": 3}),
    P.Play(), P.Pause(), P.Step("d"), P.Reset(), P.SetSpeed(None), P.SetSpeed(12.5),
    P.SetView(ViewRequest(grid=32, dstar=True)), P.SetView(None), P.FrameWanted(2),
    P.LoadConfig({"loss": {"name": "hinge"}}), P.SaveGenerator("/tmp/ä g.safetensors"),
    P.SaveSession("s"), P.LoadSession("s"), P.LoadGenerator("g"), P.ExportSamples("x.npy", 10),
    P.ExportMetrics("m.csv"), P.Hello(), P.Ping(), P.Shutdown(), P.Detach(),
    P.FetchFile("samples", "/home/me/s.csv", ".csv", 10),
    P.LoadData("session", "mine.safetensors", np.arange(7, dtype=np.uint8)),
    P.SetTensorBoard("/tmp/tb"), P.SetTensorBoard(None),
    P.FileData("generator", "/home/me/g.safetensors", (np.arange(300) % 256).astype(np.uint8)),
    P.Applied({"loss.name": "hinge"}, {"loss": {"clip": float("inf")}, "a": [1, 2]}, 12),
    P.Applied({}, {"seed": 0}), P.SwapLog(((0, "loss → hinge"), (40, "lr D 2e-4 → 1e-3"))),
    P.SwapLog(()),
    P.Rejected({"x": 1}, "x: unknown key", {"seed": 0}), P.Diverged(5, "boom", 3),
    P.Failed("oops", "Traceback..."), P.MetricsChunk(np.full((3, 16), np.nan)),
    P.ResetDone({"seed": 1}), P.Saved("p", "session"), P.Progress(0.5, "reading"),
    P.Status(3, 120.5, True, "cpu", "step 3", 3, 3), P.Welcome(True, "", 42),
    P.Frame(_snapshot()), P.Bye("closing"), P.Refused("bad"),
]


def _same(a, b) -> None:
    assert type(a) is type(b)
    if dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            _same(getattr(a, f.name), getattr(b, f.name))
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)
    else:
        assert a == b, (a, b)


@pytest.mark.parametrize("msg", EXAMPLES, ids=lambda m: type(m).__name__)
def test_every_message_round_trips_exactly(msg):
    _same(msg, roundtrip(msg))


def test_every_message_type_has_an_example():
    assert {type(m) for m in EXAMPLES} == set(P.MESSAGES.values())


def test_arrays_travel_as_raw_buffers_not_in_the_json_header():
    rows = np.arange(64 * 16, dtype=np.float64).reshape(64, 16)
    frames = P.encode(P.MetricsChunk(rows), KEY)
    header = json.loads(bytes(frames[1]))
    assert header["arrays"] == [{"path": "rows", "dtype": "float64", "shape": [64, 16]}]
    assert len(bytes(frames[1])) < 200 and bytes(frames[2]) == rows.tobytes()


def test_a_decoded_array_is_writable_and_owns_its_memory():
    rows = np.ones((2, 16))
    frames = [bytearray(f) for f in P.encode(P.MetricsChunk(rows), KEY)]
    back = P.decode(frames, KEY).rows
    frames[2][:] = b"\x00" * len(frames[2])
    back[0, 0] = 5.0
    assert back[1, 0] == 1.0


@pytest.mark.parametrize("mutate, words", [
    (lambda f: f[:2], "truncated"),
    (lambda f: [b"XXXX\x01\x00", *f[1:]], "signature"),
    (lambda f: f[:-1] + [b"0" * 32], "signature"),
    (lambda f: f[:1] + [f[1] + b" "] + f[2:], "signature"),
])
def test_damaged_messages_are_refused(mutate, words):
    frames = [bytes(f) for f in P.encode(P.Apply({"seed": 1}), KEY)]
    with pytest.raises(P.ProtocolError, match=words):
        P.decode(mutate(frames), KEY)


def test_a_message_signed_with_another_key_is_refused():
    with pytest.raises(P.ProtocolError, match="signature"):
        P.decode(P.encode(P.Play(), b"other key"), KEY)


def _signed(header: dict, buffers: list[bytes] = (), version: int = P.VERSION) -> list[bytes]:
    """Frames with a correct signature around an arbitrary (maybe hostile) header."""
    frames = [P.MAGIC + bytes([version, 0]), json.dumps(header).encode(), b"".join(buffers)]
    return frames + [P.sign(KEY, frames)]


@pytest.mark.parametrize("header, buffers, words", [
    ({"type": "Evil", "fields": {}, "arrays": []}, [], "unknown message type"),
    ({"type": "Play", "fields": {"x": 1}, "arrays": []}, [], "unknown field"),
    ({"type": "MetricsChunk", "fields": {"rows": None},
      "arrays": [{"path": "rows", "dtype": "object", "shape": [1]}]}, [b"\x00" * 8], "dtype"),
    ({"type": "MetricsChunk", "fields": {"rows": None},
      "arrays": [{"path": "rows", "dtype": "float64", "shape": [10**9, 10**9]}]}, [b"\x00" * 8],
     "bytes for a shape"),
    ({"type": "MetricsChunk", "fields": {"rows": None},
      "arrays": [{"path": "rows", "dtype": "float64", "shape": [-1]}]}, [b""], "shape"),
    ({"type": "MetricsChunk", "fields": {"rows": None}, "arrays": []}, [b"x"], "do not match"),
    ({"type": "Frame", "fields": {"snapshot": {"__type__": "os.system"}}, "arrays": []}, [],
     "unknown nested type"),
    ({"type": "Apply", "fields": {}, "arrays": []}, [], "Apply"),
    ({"type": "SwapLog", "fields": {"entries": [[1, "a"], ["2", "b"]]}, "arrays": []}, [],
     "SwapLog"),
    ({"type": "SwapLog", "fields": {"entries": [[1]]}, "arrays": []}, [], "SwapLog"),
    ({"type": "SwapLog", "fields": {"entries": 5}, "arrays": []}, [], "SwapLog"),
    (["not", "an", "object"], [], "not an object"),
])
def test_hostile_headers_are_refused(header, buffers, words):
    with pytest.raises(P.ProtocolError, match=words):
        P.decode(_signed(header, buffers), KEY)


def test_another_protocol_version_is_refused_with_what_to_do():
    with pytest.raises(P.ProtocolError, match="update both"):
        P.decode(_signed({"type": "Play", "fields": {}, "arrays": []}, version=P.VERSION + 1),
                 KEY)


def test_an_oversized_message_is_refused_before_it_is_parsed(monkeypatch):
    monkeypatch.setattr(P, "MAX_MESSAGE", 1000)
    frames = [bytes(f) for f in P.encode(P.MetricsChunk(np.zeros((100, 16))), KEY)]
    with pytest.raises(P.ProtocolError, match="over the"):
        P.decode(frames, KEY)


def test_a_pickle_is_never_unpickled(tmp_path):
    class Evil:
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned"), "w"))

    payload = pickle.dumps(Evil())
    for frames in ([payload], [P.MAGIC + b"\x01\x00", payload, P.sign(KEY, [payload])],
                   _signed({"type": "Play", "fields": {}, "arrays": []})[:1] + [payload] * 2):
        with pytest.raises(P.ProtocolError):
            P.decode(frames, KEY)
    assert not (tmp_path / "pwned").exists()


def test_only_protocol_messages_can_be_sent():
    with pytest.raises(P.ProtocolError):
        P.encode({"type": "Play"}, KEY)
    with pytest.raises(P.ProtocolError, match="cannot send"):
        P.encode(P.Apply({"f": object()}), KEY)


@given(st.lists(st.binary(max_size=300), min_size=0, max_size=8))
def test_random_frames_are_refused_cleanly(frames):
    with pytest.raises(P.ProtocolError):
        P.decode(frames, KEY)


@given(st.binary(max_size=400))
def test_random_signed_headers_give_a_message_or_a_protocol_error(blob):
    frames = [P.MAGIC + bytes([P.VERSION, 0]), blob]
    frames.append(P.sign(KEY, frames))
    try:
        msg = P.decode(frames, KEY)
    except P.ProtocolError:
        return
    assert type(msg).__name__ in P.MESSAGES


@pytest.mark.parametrize("kind, fields, words", [
    ("FrameWanted", {"credit": None}, "credit: expected int, got NoneType"),
    ("FrameWanted", {"credit": "x"}, "credit: expected int"),
    ("FrameWanted", {"credit": {"__float__": "inf"}}, "credit: expected int, got float"),
    ("FrameWanted", {"credit": True}, "credit: expected int, got bool"),
    ("SaveSession", {"path": 123}, "path: expected str"),
    ("Step", {"kind": [1]}, "kind: expected str"),
    ("SetView", {"request": {"__type__": "ViewRequest", "n_fake": "many"}},
     "request.n_fake: expected int"),
])
def test_a_signed_field_of_the_wrong_type_is_refused_by_the_decoder(kind, fields, words):
    """Found by a fault hunt: FrameWanted(credit=None), signed, ended the engine at
    int(None); every field typed int, float, str or bool is now checked as it decodes."""
    with pytest.raises(P.ProtocolError, match=words):
        P.decode(_signed({"type": kind, "fields": fields, "arrays": []}), KEY)


def test_a_float_field_takes_an_int_and_the_types_that_fit_decode():
    msg = P.decode(_signed({"type": "FrameWanted", "fields": {"credit": 3}, "arrays": []}), KEY)
    assert msg == P.FrameWanted(3)
    assert P.decode(P.encode(P.SetSpeed(2.5), KEY), KEY) == P.SetSpeed(2.5)


def test_a_header_nested_deeper_than_the_walk_goes_is_a_protocol_error():
    """json.loads takes ~600 levels; the fields' walk ran out of stack (RecursionError)."""
    deep: dict = {}
    for _ in range(700):
        deep = {"a": deep}
    with pytest.raises(P.ProtocolError, match="nested too deeply"):
        P.decode(_signed({"type": "Apply", "fields": {"changes": deep}, "arrays": []}), KEY)
