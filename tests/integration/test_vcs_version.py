"""Versions from version control, end to end: git repositories made here, real tools, real Nix builds.

Each project is a git repository created by the test (tags, commits, a shallow clone, a dirty tree, an
unpacked sdist, a tree with neither). The oracle is ``pip wheel --no-build-isolation`` on a copy of the
checkout, in a venv holding the env's locked build wheels: the backend's own logic with the real
``.git``. The version nixtox installs in the env (built in Nix, from a store copy without ``.git``) must
equal it, and a new commit must rebuild the package derivation and nothing else.
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import textwrap
from pathlib import Path

import pytest
from packaging.version import Version

from nixtox.model import LockedEnv
from nixtox.scm import _unpacked, vcs_version
from nixtox.session import RunOptions, lock_envs
from tests.integration._nixtox import nixtox, results

pytestmark = pytest.mark.nix

PYTHON = next(iter(sorted(Path("/root/.pyenv/versions").glob("3.12.*/bin/python3.12"))), None)

SHOW = (
    'python -c "import importlib.metadata as m, {module}; '
    "print('VERSION', m.version('{dist}'), getattr({module}, '__version__', '-'))\""
)


def tox_ini(module: str, dist: str, formats: str) -> str:
    return f"[tox]\nenv_list = py312\n\n[testenv]\npackage_formats = {formats}\ncommands = {SHOW.format(module=module, dist=dist)}\n"


SETUPTOOLS_SCM = {
    "pyproject.toml": """
        [build-system]
        requires = ["setuptools>=64", "setuptools-scm>=8"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "demo.scm-proj"
        dynamic = ["version"]
        dependencies = []

        [tool.setuptools_scm]
        version_scheme = "no-guess-dev"
        tag_regex = "^release-(?P<version>[0-9.]+)$"
        version_file = "src/demo_scm/_version.py"
    """,
    "src/demo_scm/__init__.py": "from ._version import version as __version__\n",
    ".gitignore": "src/demo_scm/_version.py\n",
}
HATCH_VCS = {
    "pyproject.toml": """
        [build-system]
        requires = ["hatchling", "hatch-vcs"]
        build-backend = "hatchling.build"

        [project]
        name = "demo-hatch"
        dynamic = ["version"]
        dependencies = []

        [tool.hatch.version]
        source = "vcs"
        raw-options = { local_scheme = "no-local-version" }

        [tool.hatch.build.hooks.vcs]
        version-file = "src/demo_hatch/_version.py"
    """,
    "src/demo_hatch/__init__.py": "from ._version import version as __version__\n",
    ".gitignore": "src/demo_hatch/_version.py\n",
}
FLIT_SCM = {
    "pyproject.toml": """
        [build-system]
        requires = ["flit_scm"]
        build-backend = "flit_scm:buildapi"

        [project]
        name = "demo-flit"
        description = "flit_scm fixture"
        dynamic = ["version"]
        dependencies = []

        [tool.flit.module]
        name = "demo_flit"

        [tool.setuptools_scm]
        version_scheme = "post-release"
        local_scheme = "dirty-tag"
        write_to = "src/demo_flit/_version.py"
    """,
    "src/demo_flit/__init__.py": "from ._version import version as __version__\n",
    ".gitignore": "src/demo_flit/_version.py\n",
}
PDM_SCM = {
    "pyproject.toml": """
        [build-system]
        requires = ["pdm-backend"]
        build-backend = "pdm.backend"

        [project]
        name = "demo-pdm"
        dynamic = ["version"]
        dependencies = []

        [tool.pdm.version]
        source = "scm"
        tag_regex = "^v(?P<version>[0-9.]+)$"
    """,
    "src/demo_pdm/__init__.py": "",
}

# the tools whose backends have no pretend variable get a PKG-INFO (setuptools-git-versioning,
# versioningit); poetry-dynamic-versioning its bypass variable
MORE_TOOLS = {
    "setuptools-git-versioning": (
        {
            "pyproject.toml": """
                [build-system]
                requires = ["setuptools>=64", "setuptools-git-versioning>=2"]
                build-backend = "setuptools.build_meta"

                [project]
                name = "demo-sgv"
                dynamic = ["version"]
                dependencies = []

                [tool.setuptools-git-versioning]
                enabled = true
                dev_template = "{tag}.post{ccount}+git.{sha}"
            """,
            "src/demo_sgv/__init__.py": "",
        },
        ["1.5", None],
        "1.5.post1+git.",
    ),
    "versioningit": (
        {
            "pyproject.toml": """
                [build-system]
                requires = ["setuptools>=64", "versioningit>=3"]
                build-backend = "setuptools.build_meta"

                [project]
                name = "demo-vit"
                dynamic = ["version"]
                dependencies = []

                [tool.versioningit.format]
                distance = "{base_version}.post{distance}+{vcs}{rev}"
            """,
            "src/demo_vit/__init__.py": "",
        },
        ["v0.7.0", None, None],
        "0.7.0.post2+g",
    ),
    "poetry-dynamic-versioning": (
        {
            "pyproject.toml": """
                [build-system]
                requires = ["poetry-core>=1.0.0", "poetry-dynamic-versioning>=1.0.0,<2.0.0"]
                build-backend = "poetry_dynamic_versioning.backend"

                [tool.poetry]
                name = "demo-poetry"
                version = "0.0.0"
                description = "poetry-dynamic-versioning fixture"
                authors = ["nixtox test <test@nixtox.invalid>"]
                packages = [{ include = "demo_poetry", from = "src" }]

                [tool.poetry-dynamic-versioning]
                enable = true
            """,
            "src/demo_poetry/__init__.py": "",
        },
        ["v3.1.0", None],
        "3.1.0.post1.dev0+",
    ),
}


def git(root: Path, *args: str) -> str:
    identity = [
        "-c",
        "user.name=nixtox test",
        "-c",
        "user.email=test@nixtox.invalid",
        "-c",
        "commit.gpgsign=false",
    ]
    proc = subprocess.run(["git", *identity, *args], cwd=root, capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def git_project(root: Path, files: dict[str, str], history: list[str | None], tox: str) -> Path:
    """A repository with one commit per ``history`` item, each tagged with it (None: untagged)."""
    root.mkdir(parents=True)
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text).lstrip("\n"))
    (root / "tox.ini").write_text(tox)
    git(root, "init", "-q", "-b", "main")
    for number, tag in enumerate(history):
        (root / "CHANGES").write_text(f"change {number}\n")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", f"change {number}")
        if tag:
            git(root, "tag", tag)
    return root


@pytest.fixture(scope="module")
def oracle_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if PYTHON is None:
        pytest.skip("no CPython 3.12 under ~/.pyenv")
    venv = tmp_path_factory.mktemp("oracle") / "venv"
    subprocess.run([str(PYTHON), "-m", "venv", str(venv)], check=True)
    return venv


def locked_env(root: Path) -> LockedEnv:
    """The env as nixtox locked it (nixtox.lock is current after a run: no resolver call)."""
    return lock_envs(RunOptions(path=root)).live[0]


def _oracle_copy(root: Path, dest: Path, venv: Path, locked: LockedEnv) -> Path:
    """A copy of the checkout as it was before nixtox ran in it, and the oracle venv given its build
    wheels (a .pth file, like a site-packages of its own)."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(root, dest, symlinks=True, ignore=shutil.ignore_patterns(".nixtox", "nixtox.lock"))
    site = next(venv.glob("lib/python3.*/site-packages"))
    paths = [str(_unpacked(d, env_name="oracle")) for d in locked.build_dists]
    (site / "nixtox-oracle.pth").write_text("\n".join(paths) + "\n")
    return dest


def pip_wheel_version(root: Path, venv: Path, locked: LockedEnv) -> str:
    """What ``pip wheel .`` builds in the checkout, with the same build requirements."""
    copy = _oracle_copy(root, root.parent / f"{root.name}-pip", venv, locked)
    out = copy.parent / f"{root.name}-wheels"
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run(
        [str(venv / "bin/python"), "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
         "-w", str(out), str(copy)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    (wheel,) = out.glob("*.whl")
    return str(Version(wheel.name.split("-")[1]))


def installed_versions(result_json: Path) -> dict[str, tuple[str, str]]:
    """label -> (importlib.metadata version, the module's __version__) printed by the env's command."""
    found = {}
    for label, env in results(result_json).items():
        assert env["result"]["success"], (label, env["test"])
        line = next(
            line for c in env["test"] for line in c["output"].splitlines() if line.startswith("VERSION")
        )
        _, metadata, module = line.split()
        found[label] = (metadata, module)
    return found


def input_drvs(drv: str) -> set[str]:
    proc = subprocess.run(
        ["nix-store", "-q", "--references", drv], capture_output=True, text=True, check=True
    )
    return {path for path in proc.stdout.split() if path.endswith(".drv")}


def run_ok(root: Path, name: str) -> Path:
    out = nixtox(root, "run", "--result-json", str(root.parent / name))
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return root.parent / name


# -- setuptools-scm: options, the _FOR_ name, wheel and sdist, and what a new commit rebuilds ----------


def test_setuptools_scm_version_with_options_and_a_commit_rebuilds_only_the_package(
    tmp_path: Path, oracle_venv: Path
) -> None:
    root = git_project(
        tmp_path / "scm",
        SETUPTOOLS_SCM,
        ["release-1.4", None, None],
        tox_ini("demo_scm", "demo.scm-proj", "wheel sdist"),
    )
    first = run_ok(root, "a.json")
    expected = pip_wheel_version(root, oracle_venv, locked_env(root))
    assert expected.startswith("1.4.post1.dev2+g")  # no-guess-dev, the tag_regex, the default local scheme
    assert installed_versions(first) == {
        label: (expected, expected) for label in ("(wheel) py312", "(sdist) py312")
    }
    env_file = (root / ".nixtox" / "nix" / "py312-wheel.nix").read_text()
    assert f'"SETUPTOOLS_SCM_PRETEND_VERSION_FOR_DEMO_SCM_PROJ" = "{expected}"' in env_file

    git(root, "commit", "-q", "--allow-empty", "-m", "one more")
    second = run_ok(root, "b.json")
    newer = pip_wheel_version(root, oracle_venv, locked_env(root))
    assert newer != expected
    assert installed_versions(second) == {
        label: (newer, newer) for label in ("(wheel) py312", "(sdist) py312")
    }
    before, after = results(first), results(second)
    for label in before:
        changed = input_drvs(before[label]["drv_path"]) ^ input_drvs(after[label]["drv_path"])
        # the env's layers: only the package's own changed (its old and new layer), every dependency
        # layer and the build environment's wheels are the same derivations
        assert len(changed) == 2, (label, changed)
        assert all(
            "demo.scm-proj-" in Path(drv).name or "demo_scm_proj" in Path(drv).name for drv in changed
        ), changed


def test_host_version_of_a_shallow_clone_and_a_dirty_tree_is_what_pip_builds(
    tmp_path: Path, oracle_venv: Path
) -> None:
    root = git_project(
        tmp_path / "scm",
        SETUPTOOLS_SCM,
        ["release-2.0", None, "release-2.1", None],
        tox_ini("demo_scm", "demo.scm-proj", "wheel"),
    )
    locked = locked_env(root)  # resolves once; the clones below have the same build requirements
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", root.as_uri(), str(shallow)], check=True)
    (root / "src" / "demo_scm" / "__init__.py").write_text("# edited, not committed\n")
    for tree in (shallow, root):
        found = vcs_version(tree, [locked])
        assert found is not None
        assert found.error == ""
        assert str(Version(found.version)) == pip_wheel_version(tree, oracle_venv, locked), tree
    dirty = vcs_version(root, [locked])
    assert dirty is not None
    assert ".d" in dirty.version  # node-and-date: a dirty tree carries today's date
    assert "+g" in str(vcs_version(shallow, [locked]))  # a shallow clone sees no tag: a dev version


# -- hatch-vcs, pdm-backend and an unpacked sdist: really built ----------------------------------------


def test_hatch_vcs_and_pdm_backend_versions_are_built_as_pip_builds_them(
    tmp_path: Path, oracle_venv: Path
) -> None:
    hatch = git_project(
        tmp_path / "hatch", HATCH_VCS, ["v0.3.0", None], tox_ini("demo_hatch", "demo-hatch", "wheel")
    )
    pdm = git_project(tmp_path / "pdm", PDM_SCM, ["v1.0.0", None], tox_ini("demo_pdm", "demo-pdm", "wheel"))
    (pdm / "CHANGES").write_text("uncommitted\n")  # a dirty tree
    for root in (hatch, pdm):
        first = run_ok(root, f"{root.name}.json")
        expected = pip_wheel_version(root, oracle_venv, locked_env(root))
        metadata, module = installed_versions(first)["py312"]
        assert metadata == expected, root.name
        if root is hatch:
            assert (expected, module) == ("0.3.1.dev1", expected)  # raw-options and the vcs build hook
        else:
            assert expected.startswith("1.0.1.dev1+g")
            assert ".d" in expected


@pytest.mark.parametrize("tool", sorted(MORE_TOOLS))
def test_tools_without_a_pretend_variable_and_poetry_build_as_pip_builds_them(
    tmp_path: Path, oracle_venv: Path, tool: str
) -> None:
    files, history, prefix = MORE_TOOLS[tool]
    dist = files["pyproject.toml"].split('name = "')[1].split('"')[0]
    root = git_project(tmp_path / dist, files, history, tox_ini(dist.replace("-", "_"), dist, "wheel"))
    built = run_ok(root, "a.json")
    expected = pip_wheel_version(root, oracle_venv, locked_env(root))
    assert expected.startswith(prefix)
    assert installed_versions(built)["py312"][0] == expected


def test_an_unpacked_sdist_builds_with_the_version_in_its_pkg_info(tmp_path: Path, oracle_venv: Path) -> None:
    root = git_project(
        tmp_path / "scm", SETUPTOOLS_SCM, ["release-3.0"], tox_ini("demo_scm", "demo.scm-proj", "wheel")
    )
    locked = locked_env(root)
    copy = _oracle_copy(root, tmp_path / "for-sdist", oracle_venv, locked)
    subprocess.run(
        [str(oracle_venv / "bin/python"), "-c", "import setuptools.build_meta as b; b.build_sdist('dist')"],
        cwd=copy, check=True, capture_output=True,
    )  # fmt: skip
    (sdist,) = (copy / "dist").glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path / "unpacked", filter="data")
    (tree,) = (tmp_path / "unpacked").iterdir()
    assert "Version: 3.0\n" in (tree / "PKG-INFO").read_text()
    found = vcs_version(tree, [locked])
    assert found is not None
    assert found.version == "3.0"
    (tree / "tox.ini").write_text(tox_ini("demo_scm", "demo.scm-proj", "wheel"))
    assert installed_versions(run_ok(tree, "sdist-tree.json")) == {"py312": ("3.0", "3.0")}


def test_a_tree_with_neither_git_nor_pkg_info_is_one_error_line(tmp_path: Path) -> None:
    root = git_project(
        tmp_path / "scm", SETUPTOOLS_SCM, ["release-1.0"], tox_ini("demo_scm", "demo.scm-proj", "wheel")
    )
    shutil.rmtree(root / ".git")
    out = nixtox(root, "run")
    assert out.returncode != 0
    said = [line for line in (out.stdout + out.stderr).splitlines() if "cannot work out the version" in line]
    assert said, out.stdout + out.stderr
    assert "is not a git checkout and has no PKG-INFO" in said[0]
    assert "set SETUPTOOLS_SCM_PRETEND_VERSION=<version>" in said[0]
    assert "Traceback" not in out.stdout + out.stderr
    pretended = nixtox(root, "run", extra_env={"SETUPTOOLS_SCM_PRETEND_VERSION": "9.9"})
    assert pretended.returncode == 0, pretended.stdout[-2000:] + pretended.stderr[-2000:]
    assert "VERSION 9.9 9.9" in pretended.stdout


# -- flit_scm editable: the version file it writes into the tree survives a git clean -------------------


def test_flit_scm_editable_version_file_is_put_back_after_git_clean(
    tmp_path: Path, oracle_venv: Path
) -> None:
    root = git_project(
        tmp_path / "flit", FLIT_SCM, ["2.0", None], tox_ini("demo_flit", "demo-flit", "editable")
    )
    first = run_ok(root, "a.json")
    expected = pip_wheel_version(root, oracle_venv, locked_env(root))
    assert expected == "2.0.post1"  # post-release
    assert installed_versions(first) == {"py312": (expected, expected)}
    version_file = root / "src" / "demo_flit" / "_version.py"
    assert expected in version_file.read_text()
    git(root, "clean", "-q", "-fdx")  # the _version.py, .nixtox, nixtox.lock: the store still has the env
    assert not version_file.exists()
    out = nixtox(root, "run", "--result-json", str(tmp_path / "b.json"))
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert f"nixtox: restored {version_file}" in out.stdout
    assert installed_versions(tmp_path / "b.json") == {"py312": (expected, expected)}
    # the same derivations: nothing was rebuilt, the file came back from the record in the wheel
    assert results(tmp_path / "b.json")["py312"]["drv_path"] == results(first)["py312"]["drv_path"]
