"""A session file's optimizer part is checked as it loads: what does not fit the file's own
config is refused with one line naming the file, and what loads trains, with the config's
settings in effect. Before, Adam's buffers loaded into SGD, a learning rate of "x" or a
buffer of another shape all loaded, and the first step then failed with a KeyError,
TypeError or RuntimeError (found by a hostile-files hunt)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from engine import Session

Tamper = Callable[[dict[str, str], dict[str, torch.Tensor]], None]


def _saved(tmp_path, make_session, changes: dict[str, Any] | None = None) -> str:
    s = make_session(changes or {})
    s.train(3)
    path = tmp_path / "good.safetensors"
    s.save(str(path))
    return str(path)


def _tampered(tmp_path, good: str, tamper: Tamper) -> str:
    with safe_open(good, "pt") as f:
        meta = dict(f.metadata())
    tensors = load_file(good)
    tamper(meta, tensors)
    bad = tmp_path / "tampered.safetensors"
    save_file(tensors, str(bad), metadata=meta)
    return str(bad)


def _meta(key: str, edit: Callable[[Any], Any]) -> Tamper:
    def tamper(meta: dict[str, str], tensors: dict[str, torch.Tensor]) -> None:
        value = json.loads(meta[key])
        meta[key] = json.dumps(edit(value) or value)
    return tamper


def _group(key: str, value: Any) -> Tamper:
    return _meta("opt_g", lambda o: o["param_groups"][0].__setitem__(key, value))


def _buffer(name: str, edit: Callable[[torch.Tensor], torch.Tensor]) -> Tamper:
    def tamper(meta: dict[str, str], tensors: dict[str, torch.Tensor]) -> None:
        key = next(k for k in sorted(tensors) if k.startswith("opt_g.") and k.endswith(name))
        tensors[key] = edit(tensors[key])
    return tamper


def _loads_and_trains_or_is_refused(path: str) -> Session | None:
    """The one contract: a ValueError naming the file, or a session that trains with its
    config's learning rates."""
    try:
        s = Session.load(path)
    except ValueError as e:
        assert str(e).startswith(path) and "\n" not in str(e), e
        return None
    s.train(3)
    for which, opt in (("g", s._nets.opt_g), ("d", s._nets.opt_d)):
        assert all(g["lr"] == s.config["optim"][which]["lr"] for g in opt.param_groups)
    return s


@pytest.mark.parametrize("tamper, refused", [
    (_group("lr", "x"), False),  # the config's learning rate is what trains
    (_group("betas", [2.0, 3.0]), False),
    (_group("lr", None), False),
    (_buffer("exp_avg", lambda t: torch.zeros(3, 3)), True),
    (_buffer("exp_avg_sq", lambda t: t.to(torch.int64)), True),
    (_buffer(".step", lambda t: torch.full_like(t, -4.0)), True),
    (_buffer(".step", lambda t: torch.full_like(t, float("nan"))), True),
    (_meta("opt_g", lambda o: o["state"].__setitem__("x", {})), True),
    (_meta("opt_g", lambda o: o["state"].__setitem__("999", {"step": 1.0})), True),
    (_meta("opt_g", lambda o: o["state"].__setitem__("0", [])), True),
    (_meta("opt_g", lambda o: o["state"].__setitem__("²", {})), True),  # "²".isdigit()
    (_meta("opt_g", lambda o: o["param_groups"][0].__setitem__(
        "params", o["param_groups"][0]["params"][::-1])), True),  # buffers on other weights
    (_meta("updates", lambda u: [1e400, 2]), True),
    (_meta("updates", lambda u: [1.5, 2]), True),
    (_meta("updates", lambda u: [True, False]), True),
    (_meta("updates", lambda u: [3, -1]), True),
])
def test_a_tampered_optimizer_part_is_refused_or_trains(tmp_path, make_session, tamper, refused):
    good = _saved(tmp_path, make_session)
    s = _loads_and_trains_or_is_refused(_tampered(tmp_path, good, tamper))
    assert (s is None) == refused


def test_the_configs_learning_rate_is_the_one_that_trains(tmp_path, make_session):
    """A file whose config says 0.5 while its optimizer part says the default: 0.5 trains
    (it used to be shown as 0.5 while D trained at 2e-4)."""
    good = _saved(tmp_path, make_session)
    bad = _tampered(tmp_path, good, _meta("config", lambda c: c["optim"]["d"].__setitem__("lr", 0.5)))
    s = _loads_and_trains_or_is_refused(bad)
    assert s is not None and s._nets.opt_d.param_groups[0]["lr"] == 0.5


KINDS = {"adam": {}, "sgd": {"momentum": 0.9}, "rmsprop": {"momentum": 0.9}}


@pytest.mark.parametrize("stored", list(KINDS))
@pytest.mark.parametrize("config", list(KINDS))
def test_one_optimizers_state_under_another_optimizers_config(tmp_path, make_session,
                                                               stored, config):
    """The file's config names one optimizer and its state is another's (an edited file):
    refused when the state lacks what the config's optimizer reads, else trains."""
    changes = {f"optim.{n}.{k}": v for n in "gd" for k, v in
               {"name": stored, **KINDS[stored]}.items()}
    good = _saved(tmp_path, make_session, changes)

    def edit(c: dict[str, Any]) -> None:
        for n in "gd":
            c["optim"][n].update({"name": config, **KINDS[config]})
    s = _loads_and_trains_or_is_refused(_tampered(tmp_path, good, _meta("config", edit)))
    keeps = {"adam": {"exp_avg", "exp_avg_sq", "step"}, "sgd": {"momentum_buffer"},
             "rmsprop": {"square_avg", "step", "momentum_buffer"}}  # with momentum on
    assert (s is None) == (not keeps[config] <= keeps[stored])
