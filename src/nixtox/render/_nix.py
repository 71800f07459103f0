"""Nix syntax for Python values: string and path literals, and the ``python`` attrset of an interpreter."""

from __future__ import annotations

from pathlib import Path

from nixtox.model import ImportedInterpreter, Interpreter

__all__ = ["nix_path", "nix_string", "python_expr"]


def nix_string(value: str) -> str:
    """A Nix double-quoted string literal holding exactly ``value``."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("${", "\\${")
    escaped = escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f'"{escaped}"'


def nix_path(path: Path | str) -> str:
    """A Nix path expression for an absolute path, safe for any characters in it."""
    return f"(/. + {nix_string(str(Path(path).resolve()))})"


def python_expr(interpreter: Interpreter, *, pkgs: str | None = None) -> str:
    """The ``python`` attrset the Nix library takes: executable, version, fingerprint.

    A nixpkgs interpreter is taken from the configured nixpkgs; with ``pkgs`` (a Nix expression that may
    be null, as in an exported file's argument) from that one when it is given.
    """
    version = ".".join(map(str, interpreter.version))
    fields = f"version = {nix_string(version)}; fingerprint = {nix_string(interpreter.fingerprint)};"
    if interpreter.imported is not None:
        return _imported_python_expr(interpreter.imported, fields)
    if interpreter.provider == "nixpkgs" and interpreter.nix_attr:
        configured = (
            f"import {nix_path(interpreter.nixpkgs)} {{ }}" if interpreter.nixpkgs else "import <nixpkgs> { }"
        )
        if pkgs is not None:
            fallback = (
                f"import {nix_string(interpreter.nixpkgs)} {{ inherit system; }}"
                if interpreter.nixpkgs
                else 'throw "nixtox: pass pkgs (a nixpkgs) for the nixpkgs interpreters"'
            )
            configured = f"if {pkgs} != null then {pkgs} else {fallback}"
        binary = nix_string("/bin/" + interpreter.executable.name)
        return (
            f"(let drv = ({configured}).{interpreter.nix_attr}; in"
            f' {{ executable = "${{drv}}" + {binary}; {fields} }})'
        )
    return f"{{ executable = {nix_string(str(interpreter.executable))}; {fields} }}"


def _imported_python_expr(imported: ImportedInterpreter, fields: str) -> str:
    """``lib.importedPython``: the interpreter's store copy, a dependency Nix tracks."""
    args = {
        "name": imported.name,
        "prefix": imported.prefix,
        "executable": imported.executable,
        "narHash": imported.nar_hash,
        "executableSha256": imported.executable_sha256,
    }
    given = " ".join(f"{key} = {nix_string(value)};" for key, value in args.items())
    tests = "true" if imported.with_tests else "false"
    return f"(lib.importedPython {{ {given} withTests = {tests}; {fields} }})"
