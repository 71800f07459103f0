"""Builder of the ``oci`` env kind: an OCI image archive, written with the stdlib only.

Inputs (derivation attributes, seen as environment variables): ``nixtoxEnv``, ``src``, ``toxCommands``,
``runner``, ``specJson``, ``tag``, ``envName``, ``out``; ``closure`` (Nix's exportReferencesGraph file)
in the build directory. The one layer holds, at their own paths, every store path of the env's closure,
the interpreter when it lives outside the store (a host interpreter: its installation, without the stdlib
test suite) and the host libraries it loads (found with ldd), plus ``/src`` (the project), ``/nixtox``
(the runner, tox's command semantics and the commands) and ``/tmp``. Everything is written in sorted
order with fixed owners and mtimes, so the archive is reproducible.
"""

# Derivation attributes reach a builder as camelCase environment variables.
# ruff: noqa: SIM112

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile

EPOCH = int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))
CREATED = "1980-01-01T00:00:00Z"
#: parts of a host interpreter an env never uses: the stdlib's own tests, its site-packages (an env is
#: a venv without system site-packages) and the static library
SKIPPED_IN_PREFIX = ("test", "site-packages", "idlelib", "tkinter", "turtledemo")


def closure_paths(path: str) -> list[str]:
    """The store paths of Nix's ``exportReferencesGraph`` file (path, deriver, count, references...)."""
    with open(path, encoding="utf-8") as handle:
        lines = [line.rstrip("\n") for line in handle]
    paths, pos = [], 0
    while pos < len(lines):
        if not lines[pos]:
            pos += 1
            continue
        paths.append(lines[pos])
        count = int(lines[pos + 2])
        pos += 3 + count
    return sorted(set(paths))


def host_prefix(env: str) -> str | None:
    """The installation prefix of the env's interpreter when it lies outside the store."""
    with open(os.path.join(env, "pyvenv.cfg"), encoding="utf-8") as handle:
        for line in handle:
            key, _, value = line.partition("=")
            if key.strip() == "home":
                prefix = os.path.dirname(os.path.realpath(value.strip()))
                return None if prefix.startswith("/nix/store/") else prefix
    return None


def shared_objects(roots: list[str]) -> list[str]:
    """Every ELF executable and shared object under ``roots`` (by their magic bytes)."""
    found = []
    for root in roots:
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                path = os.path.join(dirpath, name)
                if os.path.islink(path) or not os.path.isfile(path):
                    continue
                with open(path, "rb") as handle:
                    if handle.read(4) == b"\x7fELF":
                        found.append(path)
    return sorted(found)


def host_libraries(objects: list[str], inside: list[str]) -> list[str]:
    """The libraries (outside ``inside``) that ``objects`` load, as ldd resolves them on this host."""
    libraries = set()
    for obj in objects:
        proc = subprocess.run(["ldd", obj], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False)
        for line in proc.stdout.decode("utf-8", "replace").splitlines():
            parts = line.split()
            candidates = [p for p in parts if p.startswith("/")]
            for path in candidates:
                if os.path.exists(path) and not any(path.startswith(d + "/") for d in inside):
                    libraries.add(path)
    return sorted(libraries)


class Layer:
    """A reproducible tar of absolute paths, parents first, each path once."""

    def __init__(self) -> None:
        self.buffer = io.BytesIO()
        # closed in finish(): the layer is written entry by entry by the methods below
        self.tar = tarfile.open(fileobj=self.buffer, mode="w", format=tarfile.PAX_FORMAT)  # noqa: SIM115
        self.seen: set[str] = set()

    def _info(self, name: str, kind: bytes, mode: int) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.type, info.mode, info.mtime = kind, mode, EPOCH
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info

    def directory(self, path: str, mode: int = 0o755) -> None:
        name = path.strip("/")
        if not name or name in self.seen:
            return
        self.directory(os.path.dirname("/" + name), 0o755)
        self.seen.add(name)
        self.tar.addfile(self._info(name, tarfile.DIRTYPE, mode))

    def file(self, path: str, data: bytes, mode: int = 0o644) -> None:
        name = path.strip("/")
        if name in self.seen:
            return
        self.directory(os.path.dirname("/" + name))
        self.seen.add(name)
        info = self._info(name, tarfile.REGTYPE, mode)
        info.size = len(data)
        self.tar.addfile(info, io.BytesIO(data))

    def symlink(self, path: str, target: str) -> None:
        name = path.strip("/")
        if name in self.seen:
            return
        self.directory(os.path.dirname("/" + name))
        self.seen.add(name)
        info = self._info(name, tarfile.SYMTYPE, 0o777)
        info.linkname = target
        self.tar.addfile(info)

    def tree(self, source: str, target: str, skip: tuple[str, ...] = ()) -> None:
        """``source`` (a file, link or directory) at ``target``, recursively, in sorted order."""
        if os.path.islink(source):
            self.symlink(target, os.readlink(source))
        elif os.path.isdir(source):
            self.directory(target, os.stat(source).st_mode & 0o7777 | 0o700)
            for name in sorted(os.listdir(source)):
                if name in skip or (name == "__pycache__" and target.startswith("/src")):
                    continue
                self.tree(os.path.join(source, name), os.path.join(target, name), skip)
        elif os.path.isfile(source):
            with open(source, "rb") as handle:
                self.file(target, handle.read(), os.stat(source).st_mode & 0o7777)

    def host_file(self, path: str) -> None:
        """A host library at its own path, with the symlinks that lead to it."""
        while os.path.islink(path):
            target = os.readlink(path)
            self.symlink(path, target)
            path = os.path.normpath(os.path.join(os.path.dirname(path), target))
        self.tree(path, path)

    def finish(self) -> bytes:
        self.tar.close()
        return self.buffer.getvalue()


def blob(blobs: dict[str, bytes], data: bytes) -> tuple[str, int]:
    digest = hashlib.sha256(data).hexdigest()
    blobs[digest] = data
    return "sha256:" + digest, len(data)


def canonical(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def main() -> None:
    env, out = os.environ["nixtoxEnv"], os.environ["out"]
    tag = os.environ.get("tag", "latest")
    layer = Layer()
    paths = closure_paths("closure")
    for path in paths:
        layer.tree(path, path)
    prefix = host_prefix(env)
    inside = ["/nix/store"]
    if prefix is not None:
        pyver = [d for d in os.listdir(os.path.join(prefix, "lib")) if d.startswith("python3")]
        skip = SKIPPED_IN_PREFIX if pyver else ()
        layer.tree(prefix, prefix, skip)
        inside.append(prefix)
    objects = shared_objects([p for p in paths if os.path.isdir(p)] + ([prefix] if prefix else []))
    for library in host_libraries(objects, inside):
        layer.host_file(library)
    layer.tree(os.environ["src"], "/src")
    layer.tree(os.environ["toxCommands"], "/nixtox")  # tox_commands.py and the readonly.py it loads
    layer.tree(os.environ["runner"], "/nixtox/run.py")
    spec = json.loads(os.environ["specJson"])
    spec["env"] = env
    layer.file("/nixtox/spec.json", canonical(spec))
    layer.directory("/tmp", 0o1777)
    for mount_point in ("/dev", "/proc", "/sys"):  # where a container runtime mounts them
        layer.directory(mount_point)
    layer.file("/etc/passwd", b"root:x:0:0:root:/tmp:/nonexistent\n")
    layer.file("/etc/group", b"root:x:0:\n")
    data = layer.finish()

    blobs: dict[str, bytes] = {}
    layer_digest, layer_size = blob(blobs, data)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": CREATED,
        "config": {
            "Env": [f"PATH={env}/bin", f"VIRTUAL_ENV={env}", "HOME=/tmp", "LC_ALL=C.UTF-8"],
            "Entrypoint": [f"{env}/bin/python", "-I", "/nixtox/run.py"],
            "WorkingDir": "/src",
            "Labels": {"org.opencontainers.image.title": os.environ.get("envName", tag)},
        },
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
        "history": [{"created": CREATED, "created_by": "nixtox export --oci"}],
    }
    config_digest, config_size = blob(blobs, canonical(config))
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest,
                   "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest,
                    "size": layer_size}],
    }  # fmt: skip
    manifest_digest, manifest_size = blob(blobs, canonical(manifest))
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest,
                       "size": manifest_size,
                       "annotations": {"org.opencontainers.image.ref.name": tag}}],
    }  # fmt: skip
    docker = [
        {
            "Config": "blobs/sha256/" + config_digest.split(":")[1],
            "RepoTags": [f"nixtox:{tag}"],
            "Layers": ["blobs/sha256/" + layer_digest.split(":")[1]],
        }
    ]
    archive = Layer()
    archive.file("/oci-layout", canonical({"imageLayoutVersion": "1.0.0"}))
    archive.file("/index.json", canonical(index))
    archive.file("/manifest.json", canonical(docker))
    for digest in sorted(blobs):
        archive.file(f"/blobs/sha256/{digest}", blobs[digest])
    with open(out, "wb") as handle:
        handle.write(archive.finish())
    print(f"nixtox: image {tag}: {len(paths)} store paths, layer {layer_size // 1024} KiB", file=sys.stderr)


if __name__ == "__main__":
    main()
