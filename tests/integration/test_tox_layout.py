"""tox's env directory layout under nixtox: every path substitution exists and behaves as under tox,
for every package format, on repeated runs and in parallel (real builds, real interpreters)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration._nixtox import make_project, nixtox, results

pytestmark = pytest.mark.nix

TOX_INI = """\
[tox]
env_list = py312

[testenv]
package_formats = wheel sdist
deps = pytest
change_dir = {toxinidir}/not-yet-there
commands =
    {envpython} -c "import sys, flit_proj; assert sys.prefix == r'{envdir}', sys.prefix; assert '{envdir}' in flit_proj.__file__"
    python -c "import os; assert not os.listdir(r'{envtmpdir}'), os.listdir(r'{envtmpdir}'); open(r'{envtmpdir}/marker', 'w').write('1')"
    python -c "import os; assert os.path.isfile(r'{envsitepackagesdir}/flit_proj/__init__.py'); assert os.path.isdir(r'{envlogdir}'); assert os.path.isdir(r'{temp_dir}')"
    {env_bin_dir}/pytest -q -p no:cacheprovider --basetemp={env_tmp_dir}/pytest {toxinidir}/tests
"""


def test_every_path_substitution_exists_for_every_format_and_run(tmp_path: Path) -> None:
    root = make_project(tmp_path, "flit_proj", TOX_INI)
    for args in (("run",), ("run",), ("run", "-p", "auto")):  # tmp is emptied before every run
        out = nixtox(root, *args, "--result-json", str(tmp_path / "r.json"))
        assert out.returncode == 0, out.stdout + out.stderr
        assert {env["result"]["success"] for env in results(tmp_path / "r.json").values()} == {True}
    for key in ("py312-wheel", "py312-sdist"):
        env_dir = root / ".nixtox" / "envs" / key
        assert (env_dir / "bin" / "python").exists()
        assert (env_dir / "tmp" / "marker").read_text() == "1"
    assert (root / "not-yet-there").is_dir()
    assert (root / ".nixtox" / ".gitignore").read_text() == "*\n"
