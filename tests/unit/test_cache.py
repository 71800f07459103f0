"""Binary-cache logic without Nix: settings precedence, parsers of Nix's output, messages, a fake backend."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from nixtox.cache import (
    CacheOverrides,
    CacheReportingNix,
    DryRun,
    PathInfo,
    env_plan_line,
    env_status,
    format_untrusted,
    parse_dry_run,
    parse_transfer,
    parse_verify,
    probe_substituter,
    push_target,
    resolve_settings,
    to_nix_options,
    untrusted_in_caches,
)
from nixtox.cache._nix import VerifyReport, with_secret_key
from nixtox.cache._ops import EnvPaths, push_envs, push_set, verify_envs
from nixtox.config import load_project
from nixtox.errors import ConfigError, NixtoxError
from nixtox.model import CacheConfig
from nixtox.nix import BuildWatcher, NixOptions, RealiseOutcome, nix_options_argv

S = "/nix/store/"
ENV = f"{S}36fw0p980qxirmrkg9vxpsy9gahi3aii-nixtox-env-py312"
WHEEL = f"{S}0y12r37z25ahi938ygc7im3ai3jlszzh-flit_proj-wheel"
DRV = f"{S}vg4017pcf4p0pjbzlqav0g8gw56223zk-nixtox-env-py312.drv"


# --- settings --------------------------------------------------------------------------------------------


def test_precedence_command_line_over_env_over_config(tmp_path: Path) -> None:
    config = CacheConfig(
        substituters=("file:///config",), push_to="file:///config", trusted_public_keys=("c-1:x",)
    )
    environ = {"NIXTOX_SUBSTITUTERS": "https://env-a  https://env-b", "NIXTOX_PUSH_TO": "file:///env"}
    settings = resolve_settings(
        config, environ=environ, overrides=CacheOverrides(push_to="file:///cli"), cwd=tmp_path
    )
    assert settings.substituters == ("https://env-a", "https://env-b")
    assert settings.push_to == "file:///cli"
    assert settings.trusted_public_keys == ("c-1:x",)
    assert settings.origins == {
        "substituters": "$NIXTOX_SUBSTITUTERS",
        "push_to": "command line",
        "trusted_public_keys": "config",
        "secret_key_file": "default",
        "nix_store": "default",
    }
    assert settings.trusted_key_names == ("c-1",)


def test_env_secret_key_file_is_relative_to_cwd_and_empty_env_is_unset(tmp_path: Path) -> None:
    settings = resolve_settings(
        CacheConfig(secret_key_file=tmp_path),
        environ={"NIXTOX_SECRET_KEY_FILE": "k.sec", "NIXTOX_PUSH_TO": " "},
        cwd=tmp_path,
    )
    assert settings.secret_key_file == tmp_path / "k.sec"
    assert settings.push_to == ""
    # an unset path key comes from the config engine as the project root: not a key file
    assert resolve_settings(CacheConfig(secret_key_file=tmp_path), environ={}).secret_key_file is None


def test_config_lists_with_several_keys_in_one_item_are_split() -> None:
    settings = resolve_settings(CacheConfig(trusted_public_keys=("a-1:x b-1:y", "c-1:z")), environ={})
    assert settings.trusted_public_keys == ("a-1:x", "b-1:y", "c-1:z")


def test_nix_options_carry_caches_keys_and_store() -> None:
    settings = resolve_settings(
        CacheConfig(),
        environ={
            "NIXTOX_SUBSTITUTERS": "file:///c",
            "NIXTOX_TRUSTED_PUBLIC_KEYS": "k-1:x",
            "NIXTOX_NIX_STORE": "/s",
        },
    )
    options = to_nix_options(settings, NixOptions(max_jobs=2), interpreter_prefixes=[Path("/opt/py")])
    argv = nix_options_argv(options)
    pairs = dict(zip(argv[1::3], argv[2::3], strict=True))
    assert pairs["substituters"] == "file:///c"
    assert pairs["trusted-public-keys"] == "k-1:x"
    assert pairs["store"] == "/s"
    assert "/opt/py" in pairs["sandbox-paths"]
    assert "/usr" in pairs["sandbox-paths"]
    assert pairs["max-jobs"] == "2"
    # unreachable caches dropped by the caller
    assert to_nix_options(settings, NixOptions(), substituters=()).substituters == ()


def test_default_nix_options_are_unchanged_without_cache_settings() -> None:
    options = to_nix_options(resolve_settings(CacheConfig(), environ={}), NixOptions())
    assert options == NixOptions()


def test_cache_table_in_pyproject_and_ini(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.nixtox]\nenv_list = ["py312"]\n[tool.nixtox.cache]\nsubstituters = ["file:///c"]\npush_to = "file:///c"\n'
    )
    core = load_project(tmp_path).core
    assert core.cache.substituters == ("file:///c",)
    assert core.cache.push_to == "file:///c"
    assert not core.warnings
    (tmp_path / "pyproject.toml").unlink()
    (tmp_path / "tox.ini").write_text(
        "[tox]\nenv_list = py312\n[nixtox:cache]\ntrusted_public_keys = k-1:x\n"
    )
    assert load_project(tmp_path).core.cache.trusted_public_keys == ("k-1:x",)


def test_cache_table_conflicts_and_unknown_keys_are_errors(tmp_path: Path) -> None:
    (tmp_path / "nixtox.toml").write_text('push_to = "a"\n[cache]\npush_to = "b"\n')
    with pytest.raises(ConfigError, match="push_to is set both in \\[cache\\] and in the core section"):
        load_project(tmp_path)
    (tmp_path / "nixtox.toml").write_text('[cache]\nsubstituter = "b"\n')
    with pytest.raises(ConfigError, match="unknown key 'substituter'"):
        load_project(tmp_path)


def test_push_target_errors_name_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(NixtoxError, match="nowhere to push"):
        push_target(resolve_settings(CacheConfig(), environ={}))
    with pytest.raises(NixtoxError, match=r"no secret key to sign with.*nixtox cache keygen"):
        push_target(resolve_settings(CacheConfig(push_to="file:///c"), environ={}))
    missing = resolve_settings(
        CacheConfig(push_to="file:///c", secret_key_file=tmp_path / "k.sec"), environ={}
    )
    with pytest.raises(NixtoxError, match=r"k\.sec \(from config\) does not exist"):
        push_target(missing)
    (tmp_path / "k.sec").write_text("k-1:secret")
    assert push_target(missing) == ("file:///c", tmp_path / "k.sec")
    assert push_target(missing, "s3://b") == ("s3://b", tmp_path / "k.sec")


def test_secret_key_goes_into_the_url() -> None:
    assert with_secret_key("file:///c", Path("/k")) == "file:///c?secret-key=/k"
    assert with_secret_key("s3://b?region=x", Path("/k")) == "s3://b?region=x&secret-key=/k"


def test_probe_file_caches(tmp_path: Path) -> None:
    assert "does not exist" in (probe_substituter(f"file://{tmp_path}/none") or "")
    assert "no nix-cache-info" in (probe_substituter(f"file://{tmp_path}") or "")
    (tmp_path / "nix-cache-info").write_text("StoreDir: /nix/store\n")
    assert probe_substituter(f"file://{tmp_path}") is None
    assert probe_substituter("ssh://host") is None  # not probed: Nix decides


# --- parsers of Nix 2.8 output ------------------------------------------------------------------------------

DRY_RUN = f"""\
these 2 derivations will be built:
  {S}aaa-flit_proj-wheel.drv
  {DRV}
these 3 paths will be fetched (0.05 MiB download, 0.20 MiB unpacked):
  {S}bbb-pytest-9.2.0-py3-none-any.whl
  {S}ccc-pluggy-1.7.0-py3-none-any.whl
  {S}ddd-packaging-26.3-py3-none-any.whl
"""


def test_parse_dry_run() -> None:
    dry = parse_dry_run(DRY_RUN)
    assert dry.will_build == (f"{S}aaa-flit_proj-wheel.drv", DRV)
    assert len(dry.will_fetch) == 3
    single = parse_dry_run(f"this path will be fetched (0.00 MiB download, 0.00 MiB unpacked):\n  {ENV}\n")
    assert single == DryRun((), (ENV,), ())
    assert parse_dry_run("") == DryRun()
    assert parse_dry_run(f"don't know how to build these paths:\n  {DRV}\n").unknown == (DRV,)


def test_parse_transfer() -> None:
    log = f"""\
copying path '{WHEEL}' from 'file:///c'...
warning: the substitute for '{ENV}' from 'file:///c' is not signed by any of the keys in 'trusted-public-keys'
building '{DRV}'...
copying path '{S}eee-x' from 'file:///c'...
error: hash mismatch importing path '{S}eee-x';
         specified: sha256:1kdayjlahfi844mf8bqljz9iyxab9asf6ydarj1b18q2irh6dkbk
         got:       sha256:045kpwf6a3asxnbn0wpa6bf4i0k7ksknjjvj3ch6887acfh9gsc5
warning: unable to download 'http://127.0.0.1:1/nix-cache-info': Couldn't connect to server (7)
warning: disabling binary cache 'http://127.0.0.1:1' for 60 seconds
"""
    transfer = parse_transfer(log)
    assert dict(transfer.fetched) == {WHEEL: "file:///c"}
    assert transfer.built == (DRV,)
    assert dict(transfer.untrusted) == {ENV: "file:///c"}
    assert transfer.corrupted[f"{S}eee-x"][0] == "sha256:1kdayjlahfi844mf8bqljz9iyxab9asf6ydarj1b18q2irh6dkbk"
    assert transfer.unreachable == {"http://127.0.0.1:1": "Couldn't connect to server (7)"}


def test_parse_verify() -> None:
    stderr = f"""\
checking '{WHEEL}'...
path '{WHEEL}' was modified! expected hash 'sha256:1k', got 'sha256:04'
checking '{ENV}'...
path '{ENV}' is untrusted
"""
    report = parse_verify(3, stderr)
    assert not report.ok
    assert report.modified == {WHEEL: ("sha256:1k", "sha256:04")}
    assert report.untrusted == (ENV,)
    assert parse_verify(0, f"checking '{ENV}'...\n") == VerifyReport(ok=True)


# --- messages ----------------------------------------------------------------------------------------------


def test_untrusted_paths_name_the_signer_and_accept_content_addressed_ones() -> None:
    infos = {
        "file:///c": {
            ENV: PathInfo(ENV, True, ("ci-1:sig",)),
            WHEEL: PathInfo(WHEEL, True, ()),
            f"{S}w.whl": PathInfo(f"{S}w.whl", True, (), ca="fixed:sha256:abc"),
        },
        "file:///d": {WHEEL: PathInfo(WHEEL, True, ("me-1:sig",))},
    }
    refused = untrusted_in_caches([ENV, WHEEL, f"{S}w.whl", f"{S}absent"], infos, ["me-1"])
    assert refused == {ENV: ("file:///c", ("ci-1",))}
    refused = untrusted_in_caches([WHEEL], {"file:///c": infos["file:///c"]}, ["me-1"])
    (line,) = format_untrusted(refused, ["me-1"], label="py312")
    assert line == (
        "py312: refusing 1 path from file:///c (flit_proj-wheel): not signed at all; trusted keys: me-1. "
        "They are built locally instead."
    )
    (line,) = format_untrusted({ENV: ("file:///c", ("ci-1",))}, [])
    assert "signed by ci-1, which is not trusted; trusted keys: none configured" in line


def test_env_plan_lines() -> None:
    assert (
        env_plan_line("py312", DryRun((), (ENV, WHEEL)))
        == "py312: fetch 2 paths from the cache, build nothing"
    )
    assert env_plan_line("py312", DryRun((DRV,), (WHEEL,))) == (
        "py312: build 1 derivation (nixtox-env-py312), fetch 1 path"
    )
    assert env_plan_line("py312", DryRun()) == "py312: already in the Nix store"


def test_env_status() -> None:
    assert env_status("a", None, local=True).state == "local"
    assert env_status("a", None, local=False).state == "unknown"
    assert env_status("a", DryRun((), (ENV,)), local=False).state == "in cache"
    refused = env_status("a", DryRun((), (ENV,)), local=False, untrusted={ENV: ("file:///c", ("ci-1",))})
    assert refused.state == "must build"
    assert refused.detail == "1 cached path(s) refused: signed by ci-1, not a trusted key"
    assert env_status("a", DryRun((DRV,), ()), local=False).detail == "1 derivation(s) to build"


# --- a fake backend ----------------------------------------------------------------------------------------


class FakeCacheNix:
    """Enough of a CacheBackend for the reporting wrapper and push planning."""

    def __init__(self, realise_log: str = "", cache: dict[str, PathInfo] | None = None) -> None:
        self.realise_log = realise_log
        self.cache = cache or {}
        self.modified: set[str] = set()
        self.calls: list[str] = []
        self.valid: set[str] = {ENV, WHEEL}

    def instantiate(self, expr_file: Path, attrs: Sequence[str], *, root: Path | None = None) -> list[str]:
        return [DRV for _ in attrs]

    def output_path(self, drv: str) -> Path:
        return Path(ENV)

    def realise(
        self, drvs: Sequence[str], *, root: Path | None = None, watcher: BuildWatcher | None = None
    ) -> RealiseOutcome:
        self.calls.append("realise" if root is None else "realise rooted")
        return RealiseOutcome(True, (), {}, "", 0.0, self.realise_log)

    def requisites(self, drv: str) -> set[str]:
        return {drv}

    def build_log(self, drv: str) -> str:
        return ""

    def is_valid(self, path: Path) -> bool:
        return str(path) in self.valid

    def add_root(self, store_path: Path, link: Path) -> None:
        return None

    def dry_run(self, drvs: Sequence[str]) -> DryRun:
        self.calls.append("dry_run")
        return DryRun((), (ENV,))

    def outputs(self, drvs: Sequence[str]) -> list[str]:
        return [WHEEL, f"{S}gone-x.whl"] if drvs else []

    def closure(self, paths: Sequence[str]) -> list[str]:
        return [DRV, f"{S}aaa-flit_proj-wheel.drv"] if DRV in paths else list(paths)

    def modified_paths(self, paths: Sequence[str]) -> list[str]:
        return [p for p in paths if p in self.modified]

    def valid_paths(self, paths: Sequence[str]) -> list[str]:
        return [p for p in paths if p in self.valid]

    def copy_to(self, url: str, paths: Sequence[str], secret_key_file: Path | None) -> None:
        self.calls.append(f"copy {url} {len(paths)}")

    def path_info(self, store_url: str, paths: Sequence[str]) -> dict[str, PathInfo]:
        return {p: self.cache[p] for p in paths if p in self.cache}

    def verify_in(
        self, store_url: str, paths: Sequence[str], trusted_public_keys: Sequence[str]
    ) -> VerifyReport:
        return VerifyReport(ok=True)

    def generate_key(self, name: str, secret_file: Path, public_file: Path) -> None:
        return None


def test_reporting_backend_says_what_it_will_and_did_do() -> None:
    said: list[str] = []
    log = f"copying path '{ENV}' from 'file:///c'...\n"
    fake = FakeCacheNix(log, {ENV: PathInfo(ENV, True, ("ci-1:sig",))})
    nix = CacheReportingNix(fake, notify=said.append, substituters=["file:///c"], trusted_key_names=["me-1"])
    drvs = nix.instantiate(Path("default.nix"), ["envs.py312"])
    nix.realise(drvs)
    assert fake.calls == ["dry_run", "realise"]
    text = "".join(said)
    assert "nixtox: py312: fetch 1 path from the cache, build nothing" in text
    assert "refusing 1 path from file:///c (nixtox-env-py312): signed by ci-1, which is not trusted" in text
    assert "fetched 1 path from file:///c, built 0 derivations locally" in text


def test_reporting_backend_names_a_tampered_path() -> None:
    said: list[str] = []
    log = f"error: hash mismatch importing path '{ENV}';\n  specified: sha256:aa\n  got:       sha256:bb\n"
    nix = CacheReportingNix(
        FakeCacheNix(log), notify=said.append, substituters=["file:///c"], trusted_key_names=[]
    )
    nix.realise([DRV])
    assert f"nixtox: error: refused {ENV} from file:///c: its content does not match" in "".join(said)
    assert "(expected sha256:aa, got sha256:bb)" in "".join(said)


def test_separate_store_hides_outputs_not_valid_there() -> None:
    fake = FakeCacheNix()
    nix = CacheReportingNix(fake, notify=print, substituters=[], trusted_key_names=[], separate_store=True)
    assert nix.output_path(DRV) == Path(ENV)
    fake.valid = set()
    assert not nix.output_path(DRV).exists()


def test_push_set_has_runtime_closure_and_valid_build_inputs(tmp_path: Path) -> None:
    fake = FakeCacheNix()
    paths = push_set(fake, [EnvPaths("py312", ENV, DRV)], tmp_path)
    assert paths.roots == (ENV, WHEEL)
    assert paths.missing == (f"{S}gone-x.whl",)
    # the build inputs were rooted (and refetched where collected) in one Nix call before anything else
    assert fake.calls[0] == "realise rooted"


def test_a_modified_env_is_never_pushed(tmp_path: Path) -> None:
    fake = FakeCacheNix()
    fake.modified = {ENV}
    settings = resolve_settings(CacheConfig(push_to=f"file://{tmp_path}", secret_key_file=tmp_path / "k.sec"))
    (tmp_path / "k.sec").write_text("key")
    with pytest.raises(NixtoxError, match=r"refusing to push .*modified after it was built.*--repair-path"):
        push_envs(fake, settings, [EnvPaths("py312", ENV, DRV)])


def test_a_modified_path_anywhere_in_the_pushed_closure_is_refused(tmp_path: Path) -> None:
    """A test command that wrote into a shared wheel layer leaves the env root intact: check all paths."""
    fake = FakeCacheNix()
    fake.modified = {WHEEL}
    settings = resolve_settings(CacheConfig(push_to=f"file://{tmp_path}", secret_key_file=tmp_path / "k.sec"))
    (tmp_path / "k.sec").write_text("key")
    with pytest.raises(
        NixtoxError, match=r"refusing to push .*-flit_proj-wheel: modified after it was built"
    ):
        push_envs(fake, settings, [EnvPaths("py312", ENV, DRV)])
    assert not any(call.startswith("copy") for call in fake.calls)


class EditedNarinfoNix(FakeCacheNix):
    """Nix calls ENV untrusted although a trusted key (ci-1) signed it: its .narinfo was edited."""

    def verify_in(
        self, store_url: str, paths: Sequence[str], trusted_public_keys: Sequence[str]
    ) -> VerifyReport:
        return VerifyReport(ok=False, untrusted=tuple(p for p in paths if p == ENV))


def test_a_trusted_signature_that_does_not_verify_is_not_called_untrusted() -> None:
    fake = EditedNarinfoNix("", {ENV: PathInfo(ENV, True, ("ci-1:sig",))})
    settings = resolve_settings(CacheConfig(trusted_public_keys=("ci-1:AAAA",)))
    (verdict,) = verify_envs(fake, settings, [EnvPaths("py312", ENV, None)], cache_url="file:///c")
    assert not verdict.ok
    assert verdict.bad_signatures == {ENV: ("ci-1",)}
    assert verdict.untrusted == {}


def test_run_names_a_refused_substitute_signed_by_a_trusted_key() -> None:
    said: list[str] = []
    log = f"warning: the substitute for '{ENV}' from 'file:///c' is not signed by any of the keys in 'trusted-public-keys'\n"
    fake = FakeCacheNix(log, {ENV: PathInfo(ENV, True, ("ci-1:sig",))})
    nix = CacheReportingNix(fake, notify=said.append, substituters=[], trusted_key_names=["ci-1"])
    nix.realise([DRV])
    text = "".join(said)
    assert (
        f"refused {ENV} from file:///c: it is signed by a trusted key, but the signature does not match"
        in text
    )
    assert "not signed by a trusted key" not in text
