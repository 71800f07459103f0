"""Binary-cache settings: config file < environment variable < command line, and the Nix options they give.

The config keys are core keys (``substituters``, ``trusted_public_keys``, ``push_to``, ``secret_key_file``)
that may also sit in a ``[cache]`` table (``[tool.nixtox.cache]``, tox.ini ``[nixtox:cache]``). Each value
remembers where it came from so ``nixtox cache`` commands can say it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from nixtox.model import CacheConfig
from nixtox.nix import NixOptions

__all__ = ["CacheOverrides", "CacheSettings", "probe_substituter", "resolve_settings", "to_nix_options"]

ENV_VARS: Mapping[str, str] = {
    "substituters": "NIXTOX_SUBSTITUTERS",
    "trusted_public_keys": "NIXTOX_TRUSTED_PUBLIC_KEYS",
    "push_to": "NIXTOX_PUSH_TO",
    "secret_key_file": "NIXTOX_SECRET_KEY_FILE",
    "nix_store": "NIXTOX_NIX_STORE",
}
#: extra sandbox paths for builds in a separate store (``NIXTOX_NIX_STORE``), which Nix always sandboxes
SANDBOX_PATHS_VAR = "NIXTOX_SANDBOX_PATHS"
_BASE_SANDBOX_PATHS = ("/bin", "/usr", "/lib?", "/lib64?", "/etc/ssl?", "/etc/resolv.conf?")


@dataclass(frozen=True)
class CacheOverrides:
    """Values given on the command line; None = not given."""

    substituters: tuple[str, ...] | None = None
    trusted_public_keys: tuple[str, ...] | None = None
    push_to: str | None = None
    secret_key_file: Path | None = None
    nix_store: str | None = None


@dataclass(frozen=True)
class CacheSettings:
    substituters: tuple[str, ...] = ()
    trusted_public_keys: tuple[str, ...] = ()
    push_to: str = ""
    secret_key_file: Path | None = None
    #: ``--store`` for every Nix call ("" = the default store)
    nix_store: str = ""
    #: key -> where its value came from: "command line", "$NIXTOX_...", "config", "default"
    origins: Mapping[str, str] = field(default_factory=dict)

    @property
    def trusted_key_names(self) -> tuple[str, ...]:
        return tuple(key.split(":", 1)[0] for key in self.trusted_public_keys)


def _words(value: str) -> tuple[str, ...]:
    """Nix separates list settings with whitespace; commas are accepted too."""
    return tuple(part for part in value.replace(",", " ").split() if part)


def _from_config(value: object) -> object:
    if value is None or value in ("", ()):
        return None
    if isinstance(value, Path) and value.is_dir():
        return None  # an unset path key resolves to the project root
    if isinstance(value, list | tuple):
        return tuple(str(v) for item in value for v in _words(str(item)))
    return value


def resolve_settings(
    config: CacheConfig,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: CacheOverrides | None = None,
    cwd: Path | None = None,
) -> CacheSettings:
    """The effective settings: command line, then ``$NIXTOX_*``, then the config file."""
    environ = os.environ if environ is None else environ
    overrides = overrides or CacheOverrides()
    values: dict[str, object] = {}
    origins: dict[str, str] = {}
    for key, var in ENV_VARS.items():
        given = getattr(overrides, key)
        raw_env = environ.get(var)
        configured = _from_config(getattr(config, key, None))
        if given is not None:
            values[key], origins[key] = given, "command line"
        elif raw_env is not None and raw_env.strip():
            values[key], origins[key] = _env_value(key, raw_env, cwd), f"${var}"
        elif configured is not None:
            values[key], origins[key] = configured, "config"
        else:
            origins[key] = "default"
    key_file = values.get("secret_key_file")
    return CacheSettings(
        substituters=_as_tuple(values.get("substituters")),
        trusted_public_keys=_as_tuple(values.get("trusted_public_keys")),
        push_to=str(values.get("push_to") or ""),
        secret_key_file=Path(str(key_file)) if key_file else None,
        nix_store=str(values.get("nix_store") or ""),
        origins=origins,
    )


def _env_value(key: str, raw: str, cwd: Path | None) -> object:
    if key in ("substituters", "trusted_public_keys"):
        return _words(raw)
    if key == "secret_key_file":
        path = Path(raw.strip()).expanduser()
        return path if path.is_absolute() else (cwd or Path.cwd()) / path
    return raw.strip()


def _as_tuple(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return _words(value)
    if isinstance(value, tuple | list):
        return tuple(str(v) for v in value)
    return (str(value),)


def sandbox_paths(interpreter_prefixes: Sequence[Path] = (), environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    paths = [
        *_BASE_SANDBOX_PATHS,
        *(str(p) for p in interpreter_prefixes),
        *_words(environ.get(SANDBOX_PATHS_VAR, "")),
    ]
    return " ".join(dict.fromkeys(paths))


def to_nix_options(
    settings: CacheSettings,
    base: NixOptions,
    *,
    substituters: Sequence[str] | None = None,
    interpreter_prefixes: Sequence[Path] = (),
) -> NixOptions:
    """``base`` with the caches, keys and store of ``settings`` (``substituters``: the reachable subset)."""
    extra = dict(base.extra)
    store = settings.nix_store or base.store
    if store and "sandbox-paths" not in extra:
        # Nix sandboxes every build in a separate store, even with sandbox = false
        extra["sandbox-paths"] = sandbox_paths(interpreter_prefixes)
    return replace(
        base,
        substituters=tuple(settings.substituters if substituters is None else substituters)
        or base.substituters,
        trusted_public_keys=settings.trusted_public_keys or base.trusted_public_keys,
        store=store,
        extra=extra,
    )


def probe_substituter(url: str, *, timeout: float = 5.0) -> str | None:  # noqa: PLR0911 - one reason each
    """Why ``url`` cannot serve as a cache right now, or None (reachable, or a kind nixtox cannot probe)."""
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme == "file":
        directory = Path(url.removeprefix("file://").split("?", 1)[0])
        if not directory.is_dir():
            return f"directory {directory} does not exist"
        if not (directory / "nix-cache-info").is_file():
            return f"{directory} holds no nix-cache-info (nothing was ever pushed there)"
        return None
    if scheme in ("http", "https"):
        import urllib.error  # noqa: PLC0415 - only when an http cache is configured
        import urllib.request  # noqa: PLC0415

        info = url.split("?", 1)[0].rstrip("/") + "/nix-cache-info"
        try:
            with urllib.request.urlopen(info, timeout=timeout) as response:
                response.read(1024)
        except urllib.error.HTTPError as exc:
            return f"GET {info}: HTTP {exc.code}"
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            return f"GET {info}: {reason}"
        return None
    return None
