"""``nixtox cache keygen|push|pull|verify|status``: share built envs through a signed Nix binary cache."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import click

from nixtox.cache import (
    CacheOverrides,
    CacheSession,
    EnvPaths,
    EnvVerdict,
    PlanOnlyNix,
    RealCacheNix,
    env_status,
    keygen,
    open_cache,
    untrusted_in_caches,
    verify_envs,
)
from nixtox.cli._options import Target, selection_options
from nixtox.config import load_project
from nixtox.errors import NixtoxError
from nixtox.model import Envs, RealisedEnv, Status
from nixtox.nix import NixOptions
from nixtox.session import NotifyOnly, RunOptions, prepare_envs

__all__ = ["cache"]

F = TypeVar("F", bound=Callable[..., Any])


def _notify(text: str) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()


def _cache_options(func: F) -> F:
    decorators = [
        click.option(
            "--substituter",
            "substituters",
            multiple=True,
            help="cache to pull from (repeatable); overrides config",
        ),
        click.option(
            "--trusted-public-key",
            "keys",
            multiple=True,
            help="trusted signing key (repeatable); overrides config",
        ),
        click.option(
            "--secret-key-file",
            type=click.Path(path_type=Path, dir_okay=False),
            help="signing key for pushing",
        ),
        click.option(
            "--store",
            "nix_store",
            help="Nix store to act on (default: the system store); env NIXTOX_NIX_STORE",
        ),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return selection_options(func)


def _overrides(kwargs: dict[str, Any], push_to: str | None = None) -> CacheOverrides:
    return CacheOverrides(
        substituters=tuple(kwargs["substituters"]) or None,
        trusted_public_keys=tuple(kwargs["keys"]) or None,
        push_to=push_to,
        secret_key_file=kwargs["secret_key_file"],
        nix_store=kwargs["nix_store"],
    )


def _run_options(kwargs: dict[str, Any], overrides: CacheOverrides) -> RunOptions:
    target: Target = kwargs["target"]
    return target.run_options(cache=overrides)


def _session(options: RunOptions) -> CacheSession:
    project = load_project(options.path, config_file=options.config_file, given=options.expand)
    return open_cache(project.core.cache, NixOptions(), overrides=options.cache, notify=_notify)


def _failed(prepared: Envs[RealisedEnv]) -> int:
    for result in prepared.ended.values():
        if result.status == Status.ERROR:
            click.secho(f"{result.spec.label}: {result.reason}", fg="red", err=True)
    return 1 if any(r.status == Status.ERROR for r in prepared.ended.values()) else 0


@click.group(name="cache")
def cache() -> None:
    """Share built envs through a Nix binary cache (signed)."""


@cache.command(name="keygen")
@click.argument("name")
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path(),
    help="where NAME.sec/NAME.pub go",
)
def keygen_cmd(name: str, directory: Path) -> None:
    """Create a signing key pair NAME.sec / NAME.pub (NAME like `myproject-cache-1`)."""
    pair = keygen(RealCacheNix(), name, directory.resolve())
    click.echo(f"secret key: {pair.secret_file}  (keep it private; never commit it)")
    click.echo(f"public key: {pair.public_file}")
    click.echo(pair.public_key)
    click.echo("\nAdd to your configuration:\n")
    click.echo(pair.config_lines())


@cache.command(name="push")
@_cache_options
@click.option("--to", "to", help="cache URL to push to (default: push_to); env NIXTOX_PUSH_TO")
@click.pass_context
def push_cmd(ctx: click.Context, /, to: str | None, **kwargs: Any) -> None:
    """Build (or fetch) the selected envs and push them, with everything they were built from, signed."""
    options = replace(_run_options(kwargs, _overrides(kwargs, push_to=to)), push=True)
    prepared = prepare_envs(options, events=NotifyOnly(_notify))
    ctx.exit(_failed(prepared))


@cache.command(name="pull")
@_cache_options
@click.pass_context
def pull_cmd(ctx: click.Context, /, **kwargs: Any) -> None:
    """Realise the selected envs, fetching from the caches what they hold (no commands run)."""
    prepared = prepare_envs(_run_options(kwargs, _overrides(kwargs)), events=NotifyOnly(_notify))
    for ready in prepared.live:
        click.echo(f"{ready.spec.label}: {ready.store_path}")
    ctx.exit(_failed(prepared))


def _planned(options: RunOptions, session: CacheSession) -> tuple[Envs[RealisedEnv], PlanOnlyNix]:
    planner = session.planner()
    return prepare_envs(options, nix=planner), planner


@cache.command(name="status")
@_cache_options
def status_cmd(**kwargs: Any) -> None:
    """Per env: in the local store, fetchable from a cache, or must be built."""
    options = _run_options(kwargs, _overrides(kwargs))
    session = _session(options)
    prepared, planner = _planned(options, session)
    ready = {r.spec.key: r for r in prepared.live}
    to_fetch = sorted({p for dry in planner.plans.values() for p in dry.will_fetch})
    infos = (
        {url: session.backend.path_info(url, to_fetch) for url in planner.substituters} if to_fetch else {}
    )
    refused = untrusted_in_caches(to_fetch, infos, session.settings.trusted_key_names)
    colours = {"local": "green", "in cache": "cyan", "must build": "yellow", "unknown": "red"}
    for spec in prepared.selected:
        realised = ready.get(spec.key)
        drv = planner.drv_for(spec.key)
        # PlanOnlyNix builds nothing: an env came back realised only when its path is valid already
        local = realised is not None
        status = env_status(
            spec.label, planner.plans.get(drv) if drv else None, local=local, untrusted=refused
        )
        click.secho(f"{status.label}: {status.state} ({status.detail})", fg=colours[status.state])


@cache.command(name="verify")
@_cache_options
@click.option("--cache", "cache_url", help="cache to check (default: push_to, else the first substituter)")
@click.pass_context
def verify_cmd(ctx: click.Context, /, cache_url: str | None, **kwargs: Any) -> None:
    """Check that every path of the selected envs is in the cache, signed by a trusted key, and intact."""
    options = _run_options(kwargs, _overrides(kwargs))
    session = _session(options)
    url = cache_url or session.settings.push_to or next(iter(session.settings.substituters), "")
    if not url:
        raise NixtoxError("no cache to verify: pass --cache URL or set push_to / substituters")
    if not session.settings.trusted_public_keys:
        raise NixtoxError("no trusted_public_keys configured: nothing can verify the cache's signatures")
    prepared, planner = _planned(options, session)
    ready = {r.spec.key: r for r in prepared.live}
    envs = []
    for spec in prepared.selected:
        realised = ready.get(spec.key)
        drv = (realised.drv_path if realised else None) or planner.drv_for(spec.key)
        out = (
            str(realised.store_path) if realised else (str(session.backend.output_path(drv)) if drv else None)
        )
        envs.append(EnvPaths(spec.label, out, drv))
    verdicts = verify_envs(session.backend, session.settings, envs, cache_url=url)
    for verdict in verdicts:
        _print_verdict(verdict, url, session.settings.trusted_key_names)
    ctx.exit(0 if all(v.ok for v in verdicts) else 1)


def _print_verdict(verdict: EnvVerdict, url: str, trusted: tuple[str, ...]) -> None:
    if verdict.ok:
        click.secho(
            f"{verdict.label}: OK ({verdict.checked} paths in {url}, signed by a trusted key, intact)",
            fg="green",
        )
        return
    click.secho(f"{verdict.label}: FAILED", fg="red")
    for path in verdict.missing:
        click.echo(f"  missing from {url}: {path}")
    for path, signers in verdict.untrusted.items():
        by = f"signed by {', '.join(signers)}" if signers else "not signed"
        click.echo(f"  not signed by a trusted key: {path} ({by}; trusted: {', '.join(trusted)})")
    for path, signers in verdict.bad_signatures.items():
        click.echo(
            f"  signature does not verify: {path} (signed by {', '.join(signers)}, a trusted key, but its"
            " .narinfo no longer matches what was signed: NarHash, NarSize or References were edited;"
            " the entry is corrupted or was tampered with)"
        )
    for path, (wanted, got) in verdict.modified.items():
        click.echo(
            f"  content does not match its hash (tampered or corrupted): {path} "
            f"(expected {wanted}, got {got})"
        )
    if verdict.error:
        click.echo(f"  {verdict.error}")
