"""A fake Nix backend: derivations are directories under a temp "store"; every call is recorded."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from nixtox.errors import BuildError
from nixtox.nix import BuildWatcher, RealiseOutcome


class FakeNix:
    def __init__(
        self, store: Path, *, failing: set[str] = frozenset(), broken_eval: set[str] = frozenset()
    ) -> None:  # type: ignore[assignment]
        self.store = store
        self.failing = set(failing)
        self.broken_eval = set(broken_eval)
        self.calls: list[str] = []
        #: (root name, path) of every temporary root a call added
        self.roots_added: list[tuple[str, str]] = []
        #: the derivations an evaluation wrote (valid until a fake collection removes them)
        self.written: set[str] = set()

    def _drv(self, expr_file: Path, attr: str) -> str:
        env_file = expr_file.parent / "nix" / f"{attr.split('.', 1)[1]}.nix"
        digest = hashlib.sha256(env_file.read_bytes()).hexdigest()[:12]
        return f"/fake/{digest}-{attr}.drv"

    def instantiate(self, expr_file: Path, attrs: Sequence[str], *, root: Path | None = None) -> list[str]:
        self.calls.append("instantiate " + " ".join(attrs))
        if broken := [a for a in attrs if a in self.broken_eval]:
            raise BuildError(f"error: evaluation of {broken[0]} failed")
        drvs = [self._drv(expr_file, a) for a in attrs]
        self.written |= set(drvs)
        self._add_roots(root, drvs)
        return drvs

    def _add_roots(self, root: Path | None, paths: Sequence[str]) -> None:
        """As Nix names them: ``root``, ``root-2``, ``root-3`` ...; recorded in ``roots_added``."""
        if root is None:
            return
        for index, path in enumerate(paths, start=1):
            link = root if index == 1 else root.with_name(f"{root.name}-{index}")
            link.symlink_to(path)
            self.roots_added.append((link.name, path))

    def output_path(self, drv: str) -> Path:
        return self.store / Path(drv).name.removesuffix(".drv")

    def realise(
        self, drvs: Sequence[str], *, root: Path | None = None, watcher: BuildWatcher | None = None
    ) -> RealiseOutcome:
        self.calls.append(f"realise {len(drvs)}")
        failed = []
        for drv in drvs:
            if any(drv.endswith(f"-{a}.drv") for a in self.failing):
                failed.append(drv)
                continue
            self.output_path(drv).mkdir(parents=True, exist_ok=True)
        if not failed:  # Nix adds no root at all when a build failed
            self._add_roots(root, [str(self.output_path(d)) for d in drvs])
        return RealiseOutcome(not failed, tuple(failed), {}, "log tail", 0.0)

    def requisites(self, drv: str) -> set[str]:
        return {drv}

    def build_log(self, drv: str) -> str:
        return f"building...\nnixtox: builder of {drv} said: boom\n"

    def is_valid(self, path: Path) -> bool:
        if path.name.endswith(".drv"):
            return str(path) in self.written
        return path.exists()

    def add_root(self, store_path: Path, link: Path) -> None:
        self.calls.append(f"add_root {link.name}")
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink():
            link.unlink()
        link.symlink_to(store_path)
