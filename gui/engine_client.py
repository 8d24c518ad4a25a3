"""The window's end of the wire: an engine process and the socket to it (no Qt, no torch).

``EngineProcess`` starts ``python -m engine.server`` as a child of the window, the way a
notebook starts its kernel: a fresh secret in the child's environment (never on its command
line, which other users can read), a local socket only this user can open, the config in a
temporary file the child deletes, and ``--parent`` so the child ends when the window's
process does. ``EngineConnection`` is a ZeroMQ DEALER socket speaking ``engine.protocol``;
it never blocks: ``receive()`` drains what has arrived.

Why ZeroMQ (pyzmq): it is what Jupyter uses between a notebook and its kernel; it frames
messages (a JSON header and raw numpy buffers travel as separate frames, without copies),
queues and sends on its own I/O thread (a send never waits for the other side), and the same
code runs over a local socket or TCP to another machine (``serve``).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zmq

from engine import protocol as P
from engine.lifetime import ENGINE_FOLDER_PREFIX, remove_engine_folder

KEY_ENV = "GAN_PLAYGROUND_KEY"
FOLDER_PREFIX = ENGINE_FOLDER_PREFIX  # the private folder of a local engine's socket
REPORT_BYTES = 256 * 1024  # of the engine's log kept in a crash report


@dataclass(frozen=True)
class EngineExit:
    """How an engine process ended: its exit code, or the signal that killed it (or, for a
    remote engine, that it stopped answering: ``message``)."""

    code: int | None
    signal_name: str = ""
    log_tail: str = ""
    message: str = ""
    report: str = ""  # the crash report with the engine's whole log, when it crashed

    def describe(self) -> str:
        if self.message:
            return self.message
        report = f"; its log is in {self.report}" if self.report else ""
        if self.signal_name:
            what = {"SIGKILL": " (killed: out of memory, or kill -9)",
                    "SIGSEGV": " (a crash)", "SIGABRT": " (a crash)"}.get(self.signal_name, "")
            return f"the engine process was ended by {self.signal_name}{what}{report}"
        if self.code == 0:
            return "the engine process exited"
        return f"the engine process exited with code {self.code}{report}"


def _local_address() -> str:
    """A socket only this user can reach: a Unix socket in a private temp folder (POSIX),
    else a loopback TCP port chosen by the system."""
    if os.name == "posix":
        folder = tempfile.mkdtemp(prefix=FOLDER_PREFIX)  # mode 0700
        return f"ipc://{folder}/engine.sock"
    return "tcp://127.0.0.1:*"


class EngineProcess:
    """A local engine: ``python -m engine.server`` as a child of this process."""

    def __init__(self, config: dict[str, Any], *, threads: int | None = 1,
                 autoplay: bool = False) -> None:
        self.key = secrets.token_bytes(32)
        self.address = _local_address()
        fd, self._config_file = tempfile.mkstemp(prefix="gan-config-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(config, f)
        self._log = tempfile.NamedTemporaryFile(prefix="gan-engine-", suffix=".log",
                                                delete=False)
        cmd = [sys.executable, "-m", "engine.server", "--listen", self.address,
               "--config", self._config_file, "--delete-config", "--parent", str(os.getpid()),
               "--threads", str(threads or 1)]
        if autoplay:
            cmd.append("--autoplay")
        env = {**os.environ, KEY_ENV: self.key.hex(), "PYTHONUNBUFFERED": "1"}
        if threads:
            env.setdefault("OMP_NUM_THREADS", str(threads))
        root = Path(__file__).resolve().parents[1]
        env["PYTHONPATH"] = os.pathsep.join([str(root), *filter(None, [env.get("PYTHONPATH")])])
        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self._exit: EngineExit | None = None
        self._ending = False  # end() was called

    @property
    def pid(self) -> int:
        return self.proc.pid

    def exited(self) -> EngineExit | None:
        """How the process ended, or None while it runs (cheap: one waitpid)."""
        if self._exit is None:
            code = self.proc.poll()
            if code is None:
                return None
            name = ""
            if code < 0:
                with contextlib.suppress(ValueError):
                    name = signal.Signals(-code).name
            crashed = code != 0 and not self._ending  # not a stop the window forced
            report = self._crash_report(code, name) if crashed else ""
            self._exit = EngineExit(code, name, self._tail(), report=report)
            self._cleanup()
        return self._exit

    def _crash_report(self, code: int, name: str) -> str:
        """The engine's log (its traceback, if it got to print one) in a crash report the
        user can find (README, Troubleshooting), before the log is deleted."""
        from engine.userdirs import crash_report

        try:
            with open(self._log.name, "rb") as f:
                f.seek(max(0, os.path.getsize(self._log.name) - REPORT_BYTES))
                log = f.read().decode("utf-8", errors="replace")
        except OSError:
            log = "(the engine's log could not be read)"
        how = f"ended by {name}" if name else f"exited with code {code}"
        return crash_report(f"The engine process (pid {self.proc.pid}) {how}.\n"
                            f"Its output, the last {REPORT_BYTES // 1024} KB at most:\n\n{log}",
                            pid=self.proc.pid)

    def _tail(self, lines: int = 12) -> str:
        try:
            text = Path(self._log.name).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])

    def end(self, grace: float = 0.5) -> EngineExit:
        """Wait ``grace`` seconds for a cooperative exit, then SIGTERM, then SIGKILL."""
        self._ending = True  # whatever it exits with now, the window ended it: no crash
        for step, wait in ((None, grace), (self.proc.terminate, 0.2), (self.proc.kill, 2.0)):
            if step is not None and self.proc.poll() is None:
                with contextlib.suppress(OSError):
                    step()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(wait)
            if self.proc.poll() is not None:
                break
        return self.exited() or EngineExit(None)

    def _cleanup(self) -> None:
        with contextlib.suppress(OSError):
            self._log.close()
            os.unlink(self._log.name)
        with contextlib.suppress(OSError):
            os.unlink(self._config_file)
        # the private folder _local_address made: the engine's socket, its frame process's
        # socket and weights file, which a killed engine cannot remove
        remove_engine_folder(self.address)


SCHEME = "gan+tcp://"


def parse_connection(text: str) -> tuple[str, bytes]:
    """(address, key) from what ``main.py serve`` printed: ``gan+tcp://HOST:PORT?key=HEX``,
    or the path of the connection file it wrote. One-line ValueError otherwise."""
    text = text.strip()
    if text and not text.startswith(SCHEME) and os.path.exists(os.path.expanduser(text)):
        from engine.safeio import read_capped

        raw = read_capped(os.path.expanduser(text), 64 * 1024, "an engine connection file")
        try:
            info = json.loads(raw)
            text = str(info["connection"])
        except (ValueError, KeyError, TypeError):
            raise ValueError(f"{text}: not an engine connection file (from main.py serve)") \
                from None
    if not text.startswith(SCHEME):
        raise ValueError("expected what main.py serve printed: gan+tcp://HOST:PORT?key=…, "
                         "or its connection file")
    rest = text[len(SCHEME):]
    where, _, query = rest.partition("?")
    host, _, port = where.rpartition(":")
    key_hex = dict(part.partition("=")[::2] for part in query.split("&")).get("key", "")
    try:
        key = bytes.fromhex(key_hex)
    except ValueError:
        key = b""
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{where or text}: expected HOST:PORT in the connection")
    if len(key) < 16:
        raise ValueError("the connection has no key (key=… of the serving engine)")
    return f"tcp://{host}:{int(port)}", key


class EngineConnection:
    """A DEALER socket to an engine server (see the module docstring)."""

    def __init__(self, address: str, key: bytes) -> None:
        self.key = key
        self.address = address
        self.sock = zmq.Context.instance().socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.MAXMSGSIZE, P.MAX_MESSAGE)
        self.sock.setsockopt(zmq.SNDHWM, 0)
        self.sock.connect(address)

    def fileno(self) -> int:
        """The socket's notification descriptor (edge-triggered: drain on every wake-up)."""
        return self.sock.getsockopt(zmq.FD)

    def send(self, message: Any) -> None:
        self.sock.send_multipart(P.encode(message, self.key), copy=False)

    def receive(self, limit: int = 1000) -> list[Any]:
        """Every message that has arrived (at most ``limit``), decoded; one the window cannot
        trust becomes a ``Refused`` in its place."""
        out: list[Any] = []
        while len(out) < limit:
            try:
                frames = self.sock.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                break
            try:
                out.append(P.decode([f.buffer for f in frames], self.key))
            except P.ProtocolError as e:
                out.append(P.Refused(f"a message from the engine was refused: {e}"))
        return out

    def pending(self) -> bool:
        """Whether a message waits. The notification descriptor is edge-triggered, and any
        call on the socket (a send too) may take the edge of a message that arrived during
        it: checked after each round, or that message waits for the next timer tick."""
        return bool(self.sock.get(zmq.EVENTS) & zmq.POLLIN)

    def close(self) -> None:
        self.sock.close(0)
