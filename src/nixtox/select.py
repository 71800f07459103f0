"""Pick the envs of a run: ``-e`` (or TOX_ENV/NIXTOX_ENV), ``-m`` labels, ``-f`` factors, TOX_SKIP_ENV.

tox 4 semantics: no ``-e`` runs ``env_list`` (``py`` when it is empty); ``-e ALL`` runs every env; an
``-e`` name the config does not list is accepted when each of its factors is known or names a python
(``-e py313-django``) and gets the ``[testenv]`` settings; ``-m``/``-f`` replace the ``-e`` choice with
the envs that carry one of the labels / all factors of one ``-f`` group.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain

from nixtox.config._factors import expand_env_names, is_python_factor
from nixtox.errors import EnvSelectionError
from nixtox.model import EnvResult, EnvSpec, Project, Status

__all__ = ["Selection", "parse_env_option", "platform_results", "select_envs"]


@dataclass(frozen=True)
class Selection:
    #: the ``-e`` value: comma list with braces (``py3{11,12}-a,lint``) or ``ALL``; None: env var / default
    env: str | None = None
    labels: tuple[str, ...] = ()
    #: one tuple per ``-f`` option: AND within it, OR across them
    factors: tuple[tuple[str, ...], ...] = ()
    #: regex of env names to skip (``TOX_SKIP_ENV``); None: read the environment
    skip_env: str | None = None
    #: when set, only these (env, format) keys (``py312-sdist``) of what the rest selects
    keys: tuple[str, ...] = ()


def parse_env_option(value: str) -> list[str]:
    """``py3{11,12}-a, lint`` -> ``["py311-a", "py312-a", "lint"]`` (tox's CliEnv parsing)."""
    try:
        return expand_env_names(value)
    except ValueError:
        return list(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))


def _env_var(*names: str) -> str | None:
    return next((os.environ[n] for n in names if os.environ.get(n)), None)


def _factor_pools(project: Project) -> tuple[set[str], set[str]]:
    """(factors an ad-hoc name may combine, every factor for suggestions), as tox computes them."""
    core = project.core
    known = {spec.name for spec in project.envs}
    combinable = set(chain.from_iterable(env.split("-") for env in core.env_list)) | known
    combinable |= set(chain.from_iterable(env.split("-") for env in core.condition_envs))
    everything = set(chain.from_iterable(env.split("-") for env in known)) | combinable
    return combinable, everything


def _check_name(name: str, known: set[str], combinable: set[str], everything: set[str]) -> str | None:
    """None when ``name`` may be used; else the error text (with a suggestion when there is one)."""
    normalized = "-".join(f.replace(".", "") if is_python_factor(f) else f for f in name.split("-"))
    if normalized != name and normalized in known:
        return f"{name} - did you mean {normalized}?"
    suggestions: list[str | None] = []
    bad = False
    for factor in dict.fromkeys(name.split("-")):
        if is_python_factor(factor) or factor in combinable:
            suggestions.append(factor)
            continue
        bad = True
        close = difflib.get_close_matches(factor, sorted(everything), n=1)
        suggestions.append(close[0] if close and close[0] != factor else None)
    if not bad:
        return None
    if all(s is not None for s in suggestions):
        return f"{name} - did you mean {'-'.join(s for s in suggestions if s)}?"
    return name


def _skip_filter(skip_env: str | None) -> re.Pattern[str] | None:
    pattern = skip_env if skip_env is not None else _env_var("NIXTOX_SKIP_ENV", "TOX_SKIP_ENV")
    if not pattern or not pattern.strip():
        return None
    try:
        return re.compile(pattern.strip())
    except re.error as exc:
        msg = f"invalid environment skip filter {pattern!r}: {exc}"
        raise EnvSelectionError(msg) from None


def _from_names(project: Project, names: Iterable[str]) -> list[EnvSpec]:
    by_name: dict[str, list[EnvSpec]] = {}
    for spec in project.envs:
        by_name.setdefault(spec.name, []).append(spec)
    combinable, everything = _factor_pools(project)
    problems: list[str] = []
    chosen: list[EnvSpec] = []
    for name in names:
        if name in by_name:
            chosen.extend(by_name[name])
        elif name in project.core.dropped_envs:
            problems.append(f"{name} ({project.core.dropped_envs[name]})")
        elif not name or name in {".", ".."} or "/" in name or "\\" in name:
            problems.append(repr(name))
        elif (problem := _check_name(name, set(by_name), combinable, everything)) is not None:
            problems.append(problem)
        else:
            built = project.adhoc(name)
            if not built:
                problems.append(f"{name} (exclude_package_formats removed every package format)")
            by_name[name] = list(built)
            chosen.extend(built)
    if problems:
        msg = f"environments not found in the configuration: {'; '.join(problems)}"
        raise EnvSelectionError(msg)
    return chosen


def select_envs(project: Project, selection: Selection) -> list[EnvSpec]:
    """The EnvSpecs to run, in order, one per (env, package format)."""
    env_value = selection.env if selection.env is not None else _env_var("NIXTOX_ENV", "TOX_ENV")
    names = parse_env_option(env_value) if env_value and env_value.strip() else []
    if "ALL" in names:
        chosen = list(project.envs)
        pool = chosen
    elif names:
        chosen = _from_names(project, names)
        listed = {(s.name, s.package_format) for s in project.envs}
        pool = [*project.envs, *(s for s in chosen if (s.name, s.package_format) not in listed)]
    else:
        chosen = [spec for spec in project.envs if spec.default]
        pool = list(project.envs)
    if selection.labels or selection.factors:
        labels = set(selection.labels)
        by_label = set(chain.from_iterable(project.core.labels.get(label, ()) for label in labels))
        groups = [set(chain.from_iterable(f.split("-") for f in group)) for group in selection.factors]
        chosen = [
            spec
            for spec in pool
            if spec.name in by_label
            or labels & set(spec.config.labels)
            or any(group <= set(spec.name.split("-")) for group in groups if group)
        ]
    skip = _skip_filter(selection.skip_env)
    unique = list({(spec.name, spec.package_format): spec for spec in reversed(chosen)}.values())[::-1]
    return [
        spec
        for spec in unique
        if (skip is None or not skip.match(spec.name)) and (not selection.keys or spec.key in selection.keys)
    ]


def platform_results(specs: Sequence[EnvSpec], platform: str = sys.platform) -> dict[str, EnvResult]:
    """tox's platform check, by env key: an env whose ``platform`` regex does not match ``sys.platform``
    as a whole is skipped before anything is locked or built; an invalid regex is that env's error.
    Envs without ``platform`` (or matching it) are not in the result."""
    out: dict[str, EnvResult] = {}
    for spec in specs:
        wanted = spec.config.platform
        if not wanted:
            continue
        try:
            matched = re.fullmatch(wanted, platform)
        except re.error as exc:
            reason = f"invalid platform regular expression {wanted!r}: {exc}"
            out[spec.key] = EnvResult(spec=spec, status=Status.ERROR, reason=reason, exit_code=1)
            continue
        if matched is None:
            reason = f"platform {platform} does not match {wanted}"
            out[spec.key] = EnvResult(spec=spec, status=Status.SKIP, reason=reason)
    return out
