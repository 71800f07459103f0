"""The pieces of in-Nix runs: Nix's JSON log (``_nix_log``), one env's output at a time (``_streams``),
the state of results, the summary lines, and the ``nix`` CLI options."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from nixtox._nix_log import NixLogReader, machine_host
from nixtox.model import EnvResult, NixRun, Status
from nixtox.nix import NixOptions, nix_options_argv, parse_realise_errors, resolve_builders
from nixtox.realise import built_on
from nixtox.report import summary_lines
from nixtox.report._console import done_line
from nixtox.run._streams import OneAtATime
from nixtox.state import CheckState, EnvState, State
from tests.unit._heard import Heard
from tests.unit._report_samples import make_spec, ok
from tests.unit._values import spec

DRV = "/nix/store/c08r182x2g009wqif4ciz058sqxyhpy6-nixtox-check-py312.drv"
OUT = "/nix/store/z22dl6mfk5v6033d04hy9s7cb98yhjqv-nixtox-check-py312"


def _line(**event: object) -> str:
    return "@nix " + json.dumps(event)


class Watcher:
    def __init__(self, claim: bool = True) -> None:
        self.heard: list[tuple[str, ...]] = []
        self.claim = claim

    def build_started(self, drv: str, machine: str) -> None:
        self.heard.append(("started", drv, machine))

    def build_line(self, drv: str, line: str) -> bool:
        self.heard.append(("line", drv, line))
        return self.claim

    def build_stopped(self, drv: str, machine: str) -> None:
        self.heard.append(("stopped", drv, machine))

    def path_copied(self, path: str, source: str) -> None:
        self.heard.append(("copied", path, source))


# Nix 2.8's own lines for a remote build (nix-store --realise --log-format internal-json -v)
REMOTE_BUILD = [
    _line(action="msg", level=3, msg="these 1 derivations will be built:"),
    _line(action="start", id=1, level=3, type=105, fields=[DRV, "ssh-ng://builder-1", 1, 1],
          text=f"building '{DRV}' on 'ssh-ng://builder-1'"),
    _line(action="start", id=2, level=3, type=105, fields=[DRV, "", 1, 1], text=f"building '{DRV}'"),
    _line(action="result", id=2, type=101, fields=["hello from the builder"]),
    _line(action="stop", id=2),
    _line(action="start", id=3, level=3, type=100, fields=[OUT, "ssh-ng://builder-1", "local"],
          text=f"copying path '{OUT}' from 'ssh-ng://builder-1'"),
    _line(action="stop", id=3),
    _line(action="stop", id=1),
    _line(action="start", id=4, level=6, type=0, text="querying info about missing paths"),
    _line(action="msg", level=0, msg=f"\x1b[31;1merror:\x1b[0m builder for '\x1b[35;1m{DRV}\x1b[0m' failed"),
]  # fmt: skip


def test_the_json_log_tells_whose_line_and_where_and_keeps_the_plain_text() -> None:
    watcher = Watcher()
    reader = NixLogReader(watcher)
    plain = "".join(text for line in REMOTE_BUILD if (text := reader.feed(line + "\n")) is not None)
    assert watcher.heard == [
        ("started", DRV, "ssh-ng://builder-1"),
        ("started", DRV, ""),
        ("line", DRV, "hello from the builder"),
        ("stopped", DRV, ""),
        ("copied", OUT, "ssh-ng://builder-1"),
        ("stopped", DRV, "ssh-ng://builder-1"),
    ]
    # what the plain log says: the parsers of the plain log read the same in both formats
    assert f"building '{DRV}' on 'ssh-ng://builder-1'...\n" in plain
    assert f"copying path '{OUT}' from 'ssh-ng://builder-1'...\n" in plain
    assert "querying info" not in plain
    assert "hello from the builder" not in plain  # the watcher's
    assert parse_realise_errors(plain)[0] == (DRV,)
    assert built_on(plain) == {DRV: "builder-1"}


def test_lines_no_watcher_claims_stay_in_the_plain_log() -> None:
    reader = NixLogReader(Watcher(claim=False))
    for line in REMOTE_BUILD[:3]:
        reader.feed(line)
    assert reader.feed(REMOTE_BUILD[3]) == "hello from the builder\n"
    assert reader.feed("not json at all\n") == "not json at all\n"


def test_machine_names() -> None:
    assert machine_host("") == "local"
    assert machine_host("ssh-ng://builder-1") == "builder-1"
    assert machine_host("ssh-ng://root@10.0.0.7?ssh-key=/k") == "10.0.0.7"
    assert machine_host("ssh://ci@mac-mini.lan") == "mac-mini.lan"


def test_builders_come_from_the_command_line_then_the_environment_then_the_config() -> None:
    environ = {"NIXTOX_BUILDERS": "ssh-ng://env x86_64-linux"}
    assert resolve_builders("ssh-ng://config", "ssh-ng://cli", environ) == "ssh-ng://cli"
    assert resolve_builders("ssh-ng://config", None, environ) == "ssh-ng://env x86_64-linux"
    assert resolve_builders("ssh-ng://config", None, {}) == "ssh-ng://config"
    assert resolve_builders("", None, {}) is None  # Nix's own setting applies
    assert resolve_builders("ssh-ng://config", "", environ) == ""  # --builders '': none
    argv = nix_options_argv(NixOptions(builders="ssh-ng://b - - 2", max_jobs=0))
    assert argv[argv.index("builders") + 1] == "ssh-ng://b - - 2"
    assert argv[argv.index("max-jobs") + 1] == "0"
    assert "builders" not in nix_options_argv(NixOptions())


# -- one env's output at a time -----------------------------------------------------------------------


SPECS = [spec(f"py31{i}") for i in range(4)]


@st.composite
def interleavings(draw: st.DrawFn) -> list[tuple[str, int, int]]:
    """Events of up to 4 envs in a random interleaving: each starts, writes lines, ends, in that order."""
    per_env = [
        [("start", i, 0), *(("line", i, n) for n in range(draw(st.integers(0, 3)))), ("done", i, 0)]
        for i in range(draw(st.integers(1, 4)))
    ]
    merged: list[tuple[str, int, int]] = []
    while any(per_env):
        choice = draw(st.sampled_from([i for i, events in enumerate(per_env) if events]))
        merged.append(per_env[choice].pop(0))
    return merged


@given(interleavings())
def test_one_at_a_time_shows_each_env_whole_and_in_order(events: list[tuple[str, int, int]]) -> None:
    heard = Heard()
    streams = OneAtATime(heard, serial=True)
    for kind, env, n in events:
        spec = SPECS[env]
        if kind == "start":
            streams.started(spec)
        elif kind == "line":
            streams.output(spec, f"{spec.key} line {n}\n")
        else:
            streams.done(EnvResult(spec, Status.OK))
    streams.close()
    shown = [(kind, key, text) for kind, key, text in heard.events if kind != "started"]
    # every env's lines and its end form one block, lines in order, its end last
    blocks: list[str] = []
    for _, key, _ in shown:
        if not blocks or blocks[-1] != key:
            blocks.append(key)
    assert len(blocks) == len(set(blocks))
    for key in blocks:
        mine = [(kind, text) for kind, k, text in shown if k == key]
        assert mine[-1][0] == "done"
        assert [text for kind, text in mine[:-1]] == [f"{key} line {n}\n" for n in range(len(mine) - 1)]
    assert len(blocks) == len({env for _, env, _ in events})


def test_a_parallel_display_gets_everything_as_it_comes() -> None:
    heard = Heard()
    streams = OneAtATime(heard, serial=False)
    a, b = SPECS[:2]
    streams.started(a)
    streams.started(b)
    streams.output(b, "b1\n")
    streams.output(a, "a1\n")
    assert [e[2] for e in heard.events if e[0] == "output"] == ["b1\n", "a1\n"]


# -- state, summary -----------------------------------------------------------------------------------


def test_check_entries_are_kept_per_store(tmp_path: Path) -> None:
    check = CheckState(
        "f" * 64, "/nix/store/r-check", "/nix/store/c.drv", "/nix/store/e", "/nix/store/e.drv", "py312"
    )
    state = State.read(tmp_path)
    state.envs["py311"] = EnvState("a", "/nix/store/x")
    state.checks["py312"] = check
    state.write()
    other = State.read(tmp_path, "/tmp/store2")
    other.checks["py312"] = dataclasses.replace(check, result_path="/nix/store/other")
    other.write()
    again = State.read(tmp_path)
    assert again.checks == {"py312": check}
    assert again.envs["py311"].store_path == "/nix/store/x"
    assert State.read(tmp_path, "/tmp/store2").checks["py312"].result_path == "/nix/store/other"
    assert State.read(tmp_path, "/tmp/store3").checks == {}


def _in_nix(
    result: EnvResult, *, cached: bool, ran_on: str = "local", built_on: str | None = None
) -> EnvResult:
    run = NixRun(Path("/nix/store/r"), None, ran_on, 1_700_000_000.0, cached=cached)
    assert result.realised is not None
    realised = dataclasses.replace(result.realised, built_on=built_on, cached=built_on is None)
    return dataclasses.replace(result, nix_run=run, realised=realised)


def test_the_summary_says_where_and_when_an_env_ran_in_nix() -> None:
    fresh = _in_nix(ok(make_spec("py312")), cached=False, ran_on="builder-1", built_on="builder-2")
    cached = _in_nix(ok(make_spec("py311")), cached=True)
    lines = [text for text, _ in summary_lines([fresh, cached], 1.0)]
    assert lines[0].startswith("  py312: OK (")
    assert lines[0].endswith(" seconds), ran in Nix on builder-1, env built on builder-2")
    assert lines[1].endswith(" seconds), cached: ran in Nix on this machine at 2023-11-14 22:13:20 UTC")
    assert done_line(cached, 0.01)[0] == "py311: OK ✔ in 0.01 seconds (cached result)"
    assert done_line(fresh, 0.01)[0] == "py312: OK ✔ in 0.01 seconds"


def test_pushes_compress_with_zstd_unless_the_url_says_otherwise() -> None:
    from nixtox.cache._nix import with_compression

    assert with_compression("file:///srv/cache") == "file:///srv/cache?compression=zstd"
    assert with_compression("s3://b?region=x") == "s3://b?region=x&compression=zstd"
    assert with_compression("file:///c?compression=xz") == "file:///c?compression=xz"
    assert with_compression("ssh-ng://host") == "ssh-ng://host"
