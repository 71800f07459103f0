"""docs/reference/compatibility.md lists every key the installed tox (and tox-uv, when installed) declares,
every key nixtox declares, and its counts line says what its tables hold."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from nixtox.config._keys import CORE_KEYS, ENV_KEYS

PAGE = Path(__file__).resolve().parents[2] / "docs" / "reference" / "compatibility.md"

#: asks the installed tox for every key it defines: core, run envs (a wheel env, an external-package env,
#: a PEP 723 script env) and packaging envs; printed as {scope: {key: [aliases]}}
ENUMERATE = textwrap.dedent(
    """
    import json
    from tox.provision import provision
    from tox.run import setup_state

    state = setup_state(["config", "--root", "."])
    provision(state)
    out = {"core": {}, "env": {}, "package": {}}
    for name in list(state.envs.iter(only_active=False, package=True)):
        scope = "package" if name.startswith(".pkg") else "env"
        for d in state.envs[name].conf._defined.values():
            out[scope][d.keys[0]] = list(d.keys[1:])
    for d in state.conf.core._defined.values():
        out["core"][d.keys[0]] = list(d.keys[1:])
    print(json.dumps(out))
    """
)
PROJECT = {
    "tox.ini": "[tox]\nenv_list = run, wheel, ext, script\n[testenv:wheel]\npackage = wheel\n"
    "[testenv:ext]\npackage = external\n[testenv:script]\nrunner = virtualenv-pep-723\nscript = s.py\n",
    "pyproject.toml": '[project]\nname = "x"\nversion = "1"\n[build-system]\nrequires = ["flit_core"]\n'
    'build-backend = "flit_core.buildapi"\n',
    "s.py": "# /// script\n# dependencies = []\n# ///\n",
}
#: tox-uv's keys (checked against the plugin itself when it is installed)
TOX_UV_KEYS = (
    "uv_resolution", "uv_seed", "uv_python_preference", "uv_sync_flags", "uv_sync_locked", "only_groups",
    "no_default_groups",
)  # fmt: skip


def _tox_keys(tmp_path: Path) -> dict[str, dict[str, list[str]]]:
    for name, text in PROJECT.items():
        (tmp_path / name).write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOX_", "NIXTOX_"))}
    proc = subprocess.run(
        [sys.executable, "-c", ENUMERATE], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    found: dict[str, dict[str, list[str]]] = json.loads(proc.stdout.splitlines()[-1])
    return found


def _sections() -> dict[str, list[list[str]]]:
    """``## Title`` -> the rows of its key table (cells split), header and rule rows dropped."""
    out: dict[str, list[list[str]]] = {}
    title = ""
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            title = line[3:].strip()
            out[title] = []
        elif (
            title
            and line.startswith("| ")
            and not line.startswith(("| Key", "| ---", "| Substitution", "| Feature"))
        ):
            out[title].append([cell.strip() for cell in line.strip("|").split(" | ")])
    return out


def _listed(rows: list[list[str]]) -> set[str]:
    return {name for row in rows for name in re.findall(r"`([a-z_][a-z0-9_]*)`", row[0])}


@pytest.fixture(scope="module")
def tox_keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, list[str]]]:
    return _tox_keys(tmp_path_factory.mktemp("tox-keys"))


@pytest.mark.parametrize(
    ("scope", "section"),
    [("core", "Core keys"), ("env", "Run environment keys"), ("package", "Packaging environment keys")],
)
def test_every_key_tox_declares_is_on_the_page(
    scope: str, section: str, tox_keys: dict[str, dict[str, list[str]]]
) -> None:
    listed = _listed(_sections()[section])
    keys = tox_keys[scope]
    if scope == "package":  # keys shared with run envs are covered by that table
        keys = {k: v for k, v in keys.items() if k not in tox_keys["env"] or k in {"deps", "package_root"}}
    missing = sorted(n for key, aliases in keys.items() for n in (key, *aliases) if n not in listed)
    assert not missing, f"tox declares {scope} keys {missing} that {PAGE.name} does not list ({section})"


def test_tox_uv_keys_are_on_the_page() -> None:
    try:
        import tox_uv  # noqa: F401
    except ImportError:
        pass
    else:  # pragma: no cover - tox-uv is not a test dependency
        pytest.fail("tox-uv is installed: enumerate its keys like tox's instead of TOX_UV_KEYS")
    assert set(TOX_UV_KEYS) <= _listed(_sections()["tox-uv keys"])


def test_every_key_nixtox_declares_is_on_the_page() -> None:
    sections = _sections()
    everything = set().union(*(_listed(rows) for rows in sections.values()))
    leftovers = set(
        re.findall(r"`([a-z_]+)`", PAGE.read_text(encoding="utf-8").split("## Run environment")[0])
    )
    tox_names = {n for key in (*CORE_KEYS, *ENV_KEYS) if not key.nixtox for n in key.names}
    missing = sorted(n for n in tox_names if n not in everything | leftovers)
    assert not missing, f"nixtox declares tox keys {missing} that {PAGE.name} does not mention"


def test_ignored_keys_that_warn_are_marked_so() -> None:
    sections = _sections()
    tables = ("Core keys", "Run environment keys", "tox-uv keys")
    rows = {name: row for t in tables for row in sections[t] for name in _listed([row])}
    for key in (*CORE_KEYS, *ENV_KEYS):
        if key.ignored and key.name in rows and key.name not in {"runner", "run_in"}:
            assert "ignored, warns" in rows[key.name][1], key.name


def test_the_counts_line_says_what_the_tables_hold() -> None:
    sections = _sections()
    key_tables = ("Core keys", "Run environment keys", "Packaging environment keys", "tox-uv keys")
    sizes = [len(sections[t]) for t in key_tables]
    behaviours = Counter(row[1] for t in key_tables for row in sections[t])
    ours = behaviours["nixtox's meaning"]
    expected = (
        f"Counts (tox 4.67, tox-uv): {sizes[0]} core keys, {sizes[1]} run environment keys, {sizes[2]} "
        f"packaging environment keys, {sizes[3]} tox-uv keys; of the {sum(sizes)} key rows, "
        f"{behaviours['same']} same, {ours} nixtox's meaning, "
        f"{behaviours['ignored, warns']} ignored with a warning, {behaviours['ignored']} ignored, "
        f"{behaviours['error']} errors, {behaviours['not read']} not read; "
        f"{len(sections['Substitutions'])} substitution rows."
    )
    text = " ".join(PAGE.read_text(encoding="utf-8").split())
    assert expected in text, expected
