"""nixtox's benchmark harness: nixtox against tox, tox-uv and nox on the same projects, same run.

Only the standard library; the peer tools and matplotlib live in venvs under ``bench/.venv`` that
:mod:`nixbench.peers` creates. ``bench/run.py`` is the entry point.
"""
