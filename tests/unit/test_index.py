"""The indexes an env is locked against: tox's and uv's variables, an env's set_env, the command line."""

from __future__ import annotations

import pytest

from nixtox.lock import DEFAULT_INDEX_URL, IndexConfig, index_config


def test_pypi_without_settings() -> None:
    assert index_config(environ={}) == IndexConfig(DEFAULT_INDEX_URL, ())


@pytest.mark.parametrize(
    ("environ", "url"),
    [
        ({"PIP_INDEX_URL": "https://pip.example/simple/"}, "https://pip.example/simple"),
        (
            {"UV_INDEX_URL": "https://uv.example/simple", "PIP_INDEX_URL": "https://pip.example"},
            "https://uv.example/simple",
        ),
        ({"UV_DEFAULT_INDEX": "file:///srv/idx", "UV_INDEX_URL": "https://uv.example"}, "file:///srv/idx"),
        ({"PIP_INDEX_URL": "  "}, DEFAULT_INDEX_URL),
    ],
)
def test_primary_index_precedence(environ: dict[str, str], url: str) -> None:
    assert index_config(environ=environ).url == url


def test_extra_indexes_from_every_variable_in_order_without_duplicates() -> None:
    environ = {
        "UV_INDEX": "internal=https://a.example/simple https://b.example/simple/",
        "UV_EXTRA_INDEX_URL": "https://b.example/simple",
        "PIP_EXTRA_INDEX_URL": "https://c.example/simple https://pypi.org/simple",
    }
    config = index_config(environ=environ)
    assert config.extra == (
        "https://a.example/simple",
        "https://b.example/simple",
        "https://c.example/simple",
    )
    assert config.key == "https://pypi.org/simple " + " ".join(config.extra)


def test_set_env_overrides_the_process_and_the_command_line_overrides_both() -> None:
    environ = {"PIP_INDEX_URL": "https://process.example"}
    set_env = {"PIP_INDEX_URL": "https://env.example", "PIP_EXTRA_INDEX_URL": "file:///srv/extra"}
    assert index_config(set_env=set_env, environ=environ) == IndexConfig(
        "https://env.example", ("file:///srv/extra",)
    )
    assert (
        index_config(given="https://cli.example", set_env=set_env, environ=environ).url
        == "https://cli.example"
    )


def test_a_changed_index_changes_the_lock_key() -> None:
    from nixtox.lock import lock_key
    from nixtox.model import EnvRequirements
    from tests.unit.test_lock import interpreter

    reqs = EnvRequirements(("attrs",), (), ())
    plain = lock_key(reqs, interpreter(), index_config(environ={}).key)
    extra = lock_key(reqs, interpreter(), index_config(environ={"UV_EXTRA_INDEX_URL": "file:///x"}).key)
    assert plain != extra
