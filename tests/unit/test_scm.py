"""The project's version from version control: which tool sets it, running it on the host, the handoff.

The tool runs here are stand-ins (a wheel holding a ``setuptools_scm`` whose ``__main__`` prints what the
test says), served from ``file://`` URLs like any locked wheel; the real tools, and real builds, are in
tests/integration/test_vcs_version.py.
"""

from __future__ import annotations

import hashlib
import subprocess
import textwrap
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.utils import canonicalize_name

from nixtox.errors import BuildError
from nixtox.model import LockedDist, LockedEnv
from nixtox.render import env_text, render_env
from nixtox.scm import (
    VcsVersion,
    VersionTool,
    detect_version_tool,
    pretend_env,
    unversioned_tree,
    vcs_version,
)
from tests.unit._values import PY312, locked, spec
from tests.unit.conftest import ProjectFactory

DYNAMIC = '[project]\nname = "Demo.Proj"\ndynamic = ["version"]\n'


def _pyproject(backend: str, requires: str, tables: str = "", project: str = DYNAMIC) -> dict[str, str]:
    build = f'[build-system]\nrequires = [{requires}]\nbuild-backend = "{backend}"\n'
    return {"pyproject.toml": build + project + tables}


DETECTED = {
    "setuptools-scm table": (
        _pyproject("setuptools.build_meta", '"setuptools", "setuptools-scm>=8"', "[tool.setuptools_scm]\n"),
        ("setuptools-scm", "setuptools-scm"),
    ),
    "setuptools-scm[simple]": (
        _pyproject("setuptools.build_meta", '"setuptools", "setuptools_scm[simple]>=8.3"'),
        ("setuptools-scm", "setuptools-scm"),
    ),
    "hatch-vcs": (
        _pyproject("hatchling.build", '"hatchling", "hatch-vcs"', '[tool.hatch.version]\nsource = "vcs"\n'),
        ("hatch-vcs", "setuptools-scm"),
    ),
    "flit_scm": (_pyproject("flit_scm:buildapi", '"flit_scm"'), ("flit_scm", "setuptools-scm")),
    "pdm scm": (
        _pyproject("pdm.backend", '"pdm-backend"', '[tool.pdm.version]\nsource = "scm"\n'),
        ("pdm-backend", "pdm"),
    ),
    "poetry-dynamic-versioning": (
        _pyproject(
            "poetry_dynamic_versioning.backend",
            '"poetry-core", "poetry-dynamic-versioning"',
            "[tool.poetry-dynamic-versioning]\nenable = true\n",
            project='[tool.poetry]\nname = "demo"\nversion = "0.0.0"\n',
        ),
        ("poetry-dynamic-versioning", "poetry"),
    ),
    "setuptools-git-versioning": (
        _pyproject(
            "setuptools.build_meta",
            '"setuptools", "setuptools-git-versioning>=2"',
            "[tool.setuptools-git-versioning]\nenabled = true\n",
        ),
        ("setuptools-git-versioning", "pkg-info"),
    ),
    "versioningit (setuptools)": (
        _pyproject("setuptools.build_meta", '"setuptools", "versioningit"', "[tool.versioningit]\n"),
        ("versioningit", "pkg-info"),
    ),
    "versioningit (hatchling)": (
        _pyproject(
            "hatchling.build",
            '"hatchling", "versioningit"',
            '[tool.hatch.version]\nsource = "versioningit"\n',
        ),
        ("versioningit", "pkg-info"),
    ),
    "setup.py use_scm_version": (
        {
            "setup.cfg": "[metadata]\nname = old-proj\n[options]\nsetup_requires =\n    setuptools_scm>=6\n",
            "setup.py": "from setuptools import setup\nsetup(use_scm_version=True)\n",
        },
        ("setuptools-scm", "setuptools-scm"),
    ),
}

NOT_DETECTED = {
    "static version": _pyproject(
        "setuptools.build_meta",
        '"setuptools", "setuptools-scm"',
        "[tool.setuptools_scm]\n",
        project='[project]\nname = "demo"\nversion = "1.0"\n',
    ),
    "setuptools-scm only listed": _pyproject("setuptools.build_meta", '"setuptools", "setuptools-scm"'),
    "version from an attribute": _pyproject(
        "setuptools.build_meta",
        '"setuptools", "setuptools-scm"',
        '[tool.setuptools_scm]\n[tool.setuptools.dynamic]\nversion = {attr = "demo.__version__"}\n',
    ),
    "hatchling regex": _pyproject(
        "hatchling.build", '"hatchling"', '[tool.hatch.version]\npath = "src/demo/__init__.py"\n'
    ),
    "pdm file": _pyproject("pdm.backend", '"pdm-backend"', '[tool.pdm.version]\nsource = "file"\n'),
    "git-versioning disabled": _pyproject(
        "setuptools.build_meta",
        '"setuptools", "setuptools-git-versioning"',
        "[tool.setuptools-git-versioning]\nenabled = false\n",
    ),
    "flit_core": _pyproject("flit_core.buildapi", '"flit_core"'),
    "no project files": {"README": "hello\n"},
}


@pytest.mark.parametrize("case", sorted(DETECTED))
def test_detects_the_tool_that_sets_the_version(nixtox_project: ProjectFactory, case: str) -> None:
    files, (name, handoff) = DETECTED[case]
    tool = detect_version_tool(nixtox_project(files))
    assert tool is not None
    assert (tool.name, tool.handoff) == (name, handoff)


@pytest.mark.parametrize("case", sorted(NOT_DETECTED))
def test_a_version_not_from_version_control_is_left_alone(nixtox_project: ProjectFactory, case: str) -> None:
    assert detect_version_tool(nixtox_project(NOT_DETECTED[case])) is None


def test_the_project_name_comes_from_pyproject_or_setup_cfg(nixtox_project: ProjectFactory) -> None:
    hatch = detect_version_tool(nixtox_project(DETECTED["hatch-vcs"][0]))
    legacy = detect_version_tool(nixtox_project(DETECTED["setup.py use_scm_version"][0]))
    assert hatch is not None
    assert legacy is not None
    assert (hatch.project, legacy.project) == ("Demo.Proj", "old-proj")
    assert hatch.config == {"source": "vcs"}  # hatch-vcs gets its [tool.hatch.version] table, as in hatchling


def test_broken_pyproject_is_one_error_line(nixtox_project: ProjectFactory) -> None:
    root = nixtox_project({"pyproject.toml": "[project\n"})
    with pytest.raises(Exception, match=r"pyproject.toml: not valid TOML"):
        detect_version_tool(root)


@given(st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,20}[A-Za-z0-9])?", fullmatch=True))
def test_pretend_variable_names_the_dist_as_setuptools_scm_spells_it(name: str) -> None:
    tool = VersionTool("setuptools-scm", "setuptools-scm", "setuptools-scm", "setuptools-scm", project=name)
    env = dict(pretend_env(tool, "1.0"))
    suffix = canonicalize_name(name).replace("-", "_").upper()
    assert env == {
        "SETUPTOOLS_SCM_PRETEND_VERSION": "1.0",
        f"SETUPTOOLS_SCM_PRETEND_VERSION_FOR_{suffix}": "1.0",
    }


def test_each_backend_gets_its_own_pretend_variable() -> None:
    def env(handoff: str) -> dict[str, str]:
        tool = VersionTool("t", "t", "t", handoff, project=None)  # type: ignore[arg-type]
        return dict(pretend_env(tool, "2.0"))

    assert env("setuptools-scm") == {"SETUPTOOLS_SCM_PRETEND_VERSION": "2.0"}
    assert env("pdm") == {"PDM_BUILD_SCM_VERSION": "2.0"}
    assert env("poetry") == {"POETRY_DYNAMIC_VERSIONING_BYPASS": "2.0"}
    assert env("pkg-info") == {}


# -- running the tool on the host ----------------------------------------------------------------------

SCM_PROJECT = _pyproject("setuptools.build_meta", '"setuptools", "setuptools-scm"', "[tool.setuptools_scm]\n")


def test_a_tree_without_version_control_is_named_before_resolving(nixtox_project: ProjectFactory) -> None:
    files = DETECTED["setuptools-scm table"][0]
    root = nixtox_project(files)  # not a git checkout, no PKG-INFO
    said = unversioned_tree(root, {})
    assert said is not None
    assert f"{root} is not a git checkout and has no PKG-INFO" in said
    assert "SETUPTOOLS_SCM_PRETEND_VERSION" in said
    assert unversioned_tree(root, {"SETUPTOOLS_SCM_PRETEND_VERSION": "1.0"}) is None
    (root / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: Demo.Proj\nVersion: 1.0\n")
    assert unversioned_tree(root, {}) is None
    checkout = nixtox_project(files)
    subprocess.run(["git", "init", "-q", str(checkout)], check=True)
    assert unversioned_tree(checkout, {}) is None
    static = nixtox_project(
        _pyproject("setuptools.build_meta", '"setuptools"', project='[project]\nname = "a"\nversion = "1"\n')
    )
    assert unversioned_tree(static, {}) is None


def _fake_tool_wheel(tmp_path: Path, main: str) -> LockedDist:
    """A ``setuptools_scm`` wheel whose ``python -m setuptools_scm`` runs ``main``."""
    wheel = tmp_path / "setuptools_scm-99.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("setuptools_scm/__init__.py", "")
        archive.writestr("setuptools_scm/__main__.py", textwrap.dedent(main))
        archive.writestr("setuptools_scm-99.0.dist-info/METADATA", "Name: setuptools-scm\nVersion: 99.0\n")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    return LockedDist("setuptools-scm", "99.0", wheel.name, wheel.as_uri(), digest)


def _builder(*build_dists: LockedDist, fmt: str = "wheel") -> LockedEnv:
    env = locked(spec(fmt=fmt))
    return LockedEnv(env.spec, PY312, env.dists, build_dists=build_dists, lock_key="k")


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NIXTOX_CACHE_DIR", str(tmp_path / "cache"))


def test_the_version_is_what_the_tool_prints_in_the_project_root(
    nixtox_project: ProjectFactory, tmp_path: Path
) -> None:
    root = nixtox_project(SCM_PROJECT)
    tool = _fake_tool_wheel(
        tmp_path,
        """
        import os, sys
        print("some chatter first")
        print(open("VERSION").read().strip() if os.path.exists("VERSION") else "0.0")
        """,
    )
    (root / "VERSION").write_text("1.2.3.dev4+gabcdef\n")
    found = vcs_version(root, [locked(spec(fmt="skip")), _builder(tool)])
    assert found == VcsVersion(
        "setuptools-scm",
        "1.2.3.dev4+gabcdef",
        (
            ("SETUPTOOLS_SCM_PRETEND_VERSION", "1.2.3.dev4+gabcdef"),
            ("SETUPTOOLS_SCM_PRETEND_VERSION_FOR_DEMO_PROJ", "1.2.3.dev4+gabcdef"),
        ),
    )


FAILING = """
    raise LookupError("setuptools-scm was unable to detect version for the tree.\\n\\nMake sure ...")
"""


def test_outside_git_without_pkg_info_the_error_says_what_to_do(
    nixtox_project: ProjectFactory, tmp_path: Path
) -> None:
    root = nixtox_project(SCM_PROJECT)
    found = vcs_version(root, [_builder(_fake_tool_wheel(tmp_path, FAILING))])
    assert found is not None
    assert found.version == ""
    assert found.error == (
        f"cannot work out the version of Demo.Proj (setuptools-scm reads it from version control): {root} is "
        "not a git checkout and has no PKG-INFO; run nixtox in a git checkout of the project (or in an "
        "unpacked sdist, which has PKG-INFO), or set SETUPTOOLS_SCM_PRETEND_VERSION=<version>"
    )


def test_in_a_checkout_the_error_gives_the_tools_own_words(
    nixtox_project: ProjectFactory, tmp_path: Path
) -> None:
    root = nixtox_project(SCM_PROJECT)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    found = vcs_version(root, [_builder(_fake_tool_wheel(tmp_path, FAILING))])
    assert found is not None
    assert "setuptools-scm failed: LookupError: setuptools-scm was unable to detect version" in found.error
    assert "Make sure" not in found.error  # one line


def test_without_the_tools_wheel_or_a_package_the_build_goes_as_before(
    nixtox_project: ProjectFactory, tmp_path: Path
) -> None:
    root = nixtox_project(SCM_PROJECT)
    assert vcs_version(root, [_builder()]) is None  # setuptools-scm is not among the locked build wheels
    assert vcs_version(root, [locked(spec(fmt="skip"))]) is None
    assert vcs_version(nixtox_project(NOT_DETECTED["flit_core"]), [_builder()]) is None


# -- rendering ---------------------------------------------------------------------------------------------

VERSION = VcsVersion(
    "setuptools-scm", "1.2.dev3+g5e1f", (("SETUPTOOLS_SCM_PRETEND_VERSION", "1.2.dev3+g5e1f"),)
)


@pytest.mark.parametrize("fmt", ["wheel", "sdist", "editable"])
def test_the_version_is_a_value_of_the_package_derivation(nixtox_project: ProjectFactory, fmt: str) -> None:
    root = nixtox_project(SCM_PROJECT)
    plain = render_env(locked(spec(fmt=fmt)), root=root, project_name="demo")
    versioned = render_env(locked(spec(fmt=fmt)), root=root, project_name="demo", vcs_version=VERSION)
    assert "vcsVersion" not in env_text(plain)
    expected = (
        'vcsVersion = { version = "1.2.dev3+g5e1f"; env = { "SETUPTOOLS_SCM_PRETEND_VERSION" = '
        '"1.2.dev3+g5e1f"; }; pkgInfo = false; };'
    )
    assert expected in env_text(versioned)
    newer = VcsVersion("setuptools-scm", "1.2.dev4+g77aa", VERSION.env)
    again = render_env(locked(spec(fmt=fmt)), root=root, project_name="demo", vcs_version=newer)
    assert len({plain.fingerprint, versioned.fingerprint, again.fingerprint}) == 3


def test_no_version_fails_the_envs_that_build_the_package_only(nixtox_project: ProjectFactory) -> None:
    root = nixtox_project(SCM_PROJECT)
    failed = VcsVersion("setuptools-scm", error="cannot work out the version of demo: ...")
    with pytest.raises(BuildError, match=r"^env py312: cannot work out the version of demo"):
        render_env(locked(spec(fmt="wheel")), root=root, project_name="demo", vcs_version=failed)
    skipped = render_env(locked(spec(fmt="skip")), root=root, project_name="demo", vcs_version=failed)
    assert skipped.view["package"] is None


# -- files an editable build wrote into the tree -----------------------------------------------------------


def _record(store: Path, root: Path, files: list[dict[str, object]]) -> None:
    import base64
    import json

    dist_info = store / "lib" / "python3.12" / "site-packages" / "demo-1.0.dist-info"
    dist_info.mkdir(parents=True)
    for entry in files:
        entry.setdefault("content", base64.b64encode(str(entry.pop("text", "")).encode()).decode())
    (dist_info / "nixtox-tree-files.json").write_text(json.dumps({"root": str(root), "files": files}))


def test_missing_files_the_editable_build_wrote_are_put_back(tmp_path: Path) -> None:
    from nixtox.run import restore_tree_files

    root, store = tmp_path / "project", tmp_path / "store-env"
    (root / "src" / "demo").mkdir(parents=True)
    (root / "kept.py").write_text("# edited by the user\n")
    _record(
        store,
        root,
        [
            {"path": "src/demo/_version.py", "text": "version = '1.0'\n", "executable": False},
            {"path": "kept.py", "text": "# as the build wrote it\n"},
            {"path": "bin/tool", "text": "#!/bin/sh\n", "executable": True},
            {"path": "../outside.py", "text": "x"},
            {"path": "/etc/absolute.py", "text": "x"},
        ],
    )
    restored = restore_tree_files(store)
    assert restored == [root / "src/demo/_version.py", root / "bin/tool"]
    assert (root / "src/demo/_version.py").read_text() == "version = '1.0'\n"
    assert (root / "bin/tool").stat().st_mode & 0o111
    assert (root / "kept.py").read_text() == "# edited by the user\n"  # present: left as it is
    assert not (tmp_path / "outside.py").exists()
    assert restore_tree_files(store) == []  # nothing missing any more


def test_an_env_without_a_record_restores_nothing(tmp_path: Path) -> None:
    from nixtox.run import restore_tree_files

    (tmp_path / "lib" / "python3.12" / "site-packages" / "x-1.dist-info").mkdir(parents=True)
    (tmp_path / "lib/python3.12/site-packages/x-1.dist-info/nixtox-tree-files.json").write_text("not json")
    assert restore_tree_files(tmp_path) == []


def test_the_tool_does_not_see_nixtox_own_files_as_untracked(
    nixtox_project: ProjectFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """setuptools-git-versioning counts untracked files as dirty; .nixtox/ and a new nixtox.lock are
    there only because nixtox runs. The user's own global excludes still count."""
    config = tmp_path / "xdg"
    (config / "git").mkdir(parents=True)
    (config / "git" / "ignore").write_text("*.log\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    root = nixtox_project({**SCM_PROJECT, "sub/keep.txt": "x\n"})
    identity = ["-c", "user.name=t", "-c", "user.email=t@t.invalid"]
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", *identity, "-C", str(root), "add", "-A"], check=True)
    subprocess.run(["git", *identity, "-C", str(root), "commit", "-qm", "one"], check=True)
    (root / ".nixtox").mkdir()
    (root / ".nixtox" / "state.json").write_text("{}")
    (root / "nixtox.lock").write_text("")
    (root / "debug.log").write_text("")
    (root / "new.txt").write_text("")
    tool = _fake_tool_wheel(
        tmp_path,
        """
        import subprocess
        seen = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True).stdout.split()
        print("1.0+" + ".".join(name.replace(".", "-") for name in seen if name != "??"))
        """,
    )
    found = vcs_version(root, [_builder(tool)])
    assert found is not None
    assert found.version == "1.0+new-txt"


COUNTING = """
    import os
    with open(os.environ["CALLS"], "a") as calls:
        calls.write("x")
    print(open(os.environ["VERSION_FILE"]).read().strip())  # outside the checkout: git does not see it
"""


def test_the_tool_runs_once_per_state_of_the_checkout_not_per_edit(
    nixtox_project: ProjectFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An edit of a file's content keeps the answer; a commit, a tag or a new untracked file asks the
    tool again (they can change its version)."""
    root = nixtox_project(SCM_PROJECT)
    calls = tmp_path / "calls"
    said = tmp_path / "version"
    monkeypatch.setenv("CALLS", str(calls))
    monkeypatch.setenv("VERSION_FILE", str(said))
    said.write_text("1.0\n")
    (root / "mod.py").write_text("x = 1\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(root)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], check=True)
    envs = [_builder(_fake_tool_wheel(tmp_path, COUNTING))]

    def version() -> tuple[str, int]:
        found = vcs_version(root, envs)
        assert found is not None
        return found.version, len(calls.read_text())

    assert version() == ("1.0", 1)
    (root / "mod.py").write_text("x = 2\n")
    assert version() == ("1.0", 2)  # the tree became dirty: asked again
    (root / "mod.py").write_text("x = 3\n")
    assert version() == ("1.0", 2)  # still dirty, the same files: the answer stands
    subprocess.run([*git, "tag", "v9"], check=True)
    said.write_text("9\n")  # what the fake tool says; a real one reads the tag
    assert version() == ("9", 3)
    (root / "new.py").write_text("")
    said.write_text("9.1\n")
    assert version() == ("9.1", 4)  # a new untracked file
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "two"], check=True)
    said.write_text("9.2\n")
    assert version() == ("9.2", 5)  # a commit
