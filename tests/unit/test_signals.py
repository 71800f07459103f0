"""SIGTERM and SIGHUP stop nixtox as Ctrl-C does, and stopping a command ends its whole process group."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from nixtox.cli import STOP_SIGNALS, _stop_signals_interrupt
from nixtox.run._commands import _stop
from tests.unit._values import spec


@pytest.mark.parametrize("sig", STOP_SIGNALS)
def test_a_stop_signal_interrupts_once_and_handlers_are_restored(sig: signal.Signals) -> None:
    before = signal.getsignal(sig)
    with _stop_signals_interrupt():
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), sig)  # Python runs the handler before the next bytecode
        os.kill(os.getpid(), sig)  # a second one while stopping: ignored, the teardown goes on
        time.sleep(0.05)
    assert signal.getsignal(sig) == before


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def test_stopping_a_command_ends_the_children_it_left_behind(tmp_path: Path) -> None:
    """The command exits on SIGINT at once; its child ignores SIGINT and must still be ended."""
    pid_file = tmp_path / "child.pid"
    script = f"(trap '' INT; exec sleep 30) & echo $! > {pid_file}; wait"
    with subprocess.Popen(["sh", "-c", script], start_new_session=True, text=True) as proc:
        while not pid_file.exists() or not pid_file.read_text().strip():
            time.sleep(0.01)
        child = int(pid_file.read_text())
        start = time.monotonic()
        _stop(proc, spec(interrupt_timeout=0.2, terminate_timeout=2.0))
    assert proc.returncode is not None
    deadline = time.monotonic() + 2
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _alive(child)
    assert time.monotonic() - start < 5
