"""Which package indexes an env is locked against, from the settings tox and uv users already have.

The primary index: ``nixtox lock -i URL``, else ``UV_DEFAULT_INDEX``, ``UV_INDEX_URL`` or
``PIP_INDEX_URL``, else PyPI; extra indexes: ``UV_INDEX``, ``UV_EXTRA_INDEX_URL`` and
``PIP_EXTRA_INDEX_URL`` (space-separated lists). An env's ``set_env`` sets them for that env over the
process environment, as tox passes ``set_env`` to pip. ``file://`` indexes work: Nix fetches their
``file://`` URLs as it fetches ``https://`` ones. Other pip settings (``find-links`` in ``pip.conf``,
``PIP_FIND_LINKS``) are not read: a lock names index files, the same on every machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["DEFAULT_INDEX_URL", "INDEX_VARIABLES", "IndexConfig", "index_config"]

DEFAULT_INDEX_URL = "https://pypi.org/simple"
_PRIMARY = ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL")
_EXTRA = ("UV_INDEX", "UV_EXTRA_INDEX_URL", "PIP_EXTRA_INDEX_URL")
#: every variable that names an index; the resolver is given them explicitly, never through its own env
INDEX_VARIABLES = (*_PRIMARY, *_EXTRA)


@dataclass(frozen=True)
class IndexConfig:
    url: str = DEFAULT_INDEX_URL
    #: extra indexes, searched first (uv's order for ``--extra-index-url``)
    extra: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """What the lock key holds: a change of index relocks."""
        return " ".join((self.url, *self.extra))


def _url(value: str) -> str:
    """``name=URL`` (uv's named ``UV_INDEX`` entries) -> ``URL``, without a trailing slash."""
    name, sep, rest = value.partition("=")
    url = rest if sep and "://" not in name else value
    return url.strip().rstrip("/")


def index_config(
    *, given: str | None = None, set_env: Mapping[str, str] | None = None, environ: Mapping[str, str]
) -> IndexConfig:
    """The indexes of one env: ``given`` (the command line) wins, then the env's ``set_env``, then the
    process environment."""
    merged = {**environ, **(set_env or {})}
    primary = given or next((merged[k] for k in _PRIMARY if merged.get(k, "").strip()), DEFAULT_INDEX_URL)
    extra: dict[str, None] = {}
    for name in _EXTRA:
        for item in merged.get(name, "").split():
            extra[_url(item)] = None
    url = _url(primary)
    extra.pop(url, None)
    return IndexConfig(url, tuple(extra))
