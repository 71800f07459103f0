"""tox keys nixtox acts on, end to end with the real Nix, PyPI and interpreters:
system_site_packages (mkEnv's systemSitePackages), extra_setup_commands, commands_retry, platform."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from tests.integration._nixtox import make_project, nixtox, results
from tests.integration.conftest import (
    host_python,
    library_import,
    nix_build,
    nix_eval_json,
    pins_nix,
    python_nix,
)

pytestmark = pytest.mark.nix

#: fails its first run (exit 5), passes after: a command only a retry gets through
FLAKY = shlex.quote(
    "import pathlib, sys; p = pathlib.Path('tries'); n = int(p.read_text()) if p.exists() else 0;"
    " p.write_text(str(n + 1)); sys.exit(5 if n < 1 else 0)"
)
TOX_INI = f"""\
[tox]
env_list = site, nosite, setup, elsewhere
[testenv]
base_python = python3.12
package_formats = skip
deps = iniconfig
[testenv:site]
system_site_packages = true
commands =
    python -c "import pip, iniconfig, sys; assert iniconfig.__file__.startswith(sys.prefix), iniconfig.__file__"
[testenv:nosite]
commands =
    ! python -c "import pip"
    {{envpython}} -c "import iniconfig"
[testenv:setup]
extra_setup_commands = python -c "open('setup-ran', 'w').write('yes')"
commands_retry = 2
commands = python -c {FLAKY}
[testenv:elsewhere]
platform = win32
commands = python -c "raise SystemExit(1)"
"""


def test_tox_keys_in_a_real_run(tmp_path: Path) -> None:
    root = make_project(tmp_path, "setuptools_proj", TOX_INI)
    out = nixtox(root, "run", "--result-json", str(tmp_path / "r.json"))
    assert out.returncode == 0, out.stdout + out.stderr
    envs = results(tmp_path / "r.json")
    assert {name: env["result"]["status"] for name, env in envs.items()} == {
        "site": "ok", "nosite": "ok", "setup": "ok", "elsewhere": "skip",
    }  # fmt: skip
    assert envs["elsewhere"]["result"]["reason"] == "platform linux does not match win32"
    assert [c["run_id"] for c in envs["setup"]["setup"]] == ["nix-build", "extra_setup_commands[0]"]
    assert [c["retcode"] for c in envs["setup"]["test"]] == [5, 0]  # the retry passed
    assert (root / "setup-ran").read_text() == "yes"
    site_env = Path(envs["site"]["store_path"])
    assert "include-system-site-packages = true" in (site_env / "pyvenv.cfg").read_text()
    assert (
        "include-system-site-packages = false"
        in (Path(envs["nosite"]["store_path"]) / "pyvenv.cfg").read_text()
    )


def test_system_site_packages_is_part_of_the_derivation_only_when_set(nix_required: None) -> None:
    python = host_python("3.12")
    prefix = f"let\n  nixtox = {library_import()};\n  pins = {pins_nix(('iniconfig',))};\n  python = {python_nix(python)};\nin\n"

    def drv(extra: str) -> str:
        expr = (
            prefix
            + f'(nixtox.mkEnv {{ name = "e"; inherit python; wheels = [ pins.iniconfig ]; {extra} }}).drvPath'
        )
        value = nix_eval_json(expr)
        assert isinstance(value, str)
        return value

    assert drv("") == drv("systemSitePackages = false;")
    assert drv("") != drv("systemSitePackages = true;")
    env = nix_build(
        prefix
        + '(nixtox.mkEnv { name = "e"; inherit python; wheels = [ pins.iniconfig ]; systemSitePackages = true; })'
    )
    assert (env / "pyvenv.cfg").read_text().count("include-system-site-packages") == 1
