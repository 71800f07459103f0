"""Properties of the lock: wheel choice, file round trip, key sensitivity."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from nixtox.interpreters import compute_tags
from nixtox.lock import DistFile, LockEntry, LockFile, ResolvedPackage, choose_file, lock_key
from nixtox.lock._files import wheel_rank
from nixtox.model import EnvRequirements, Interpreter, LockedDist

PLATFORMS = ["manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64", "linux_x86_64"]


def make_interpreter(minor: int) -> Interpreter:
    tags = compute_tags("cpython", (3, minor, 0), platforms=PLATFORMS)
    return Interpreter(None, "cpython", (3, minor, 0), Path("/p"), "f", tags=tags)


INTERPRETERS = {minor: make_interpreter(minor) for minor in (8, 12, 13)}

wheel_names = st.builds(
    lambda py, abi, plat, build: f"pkg-1.0-{build}{py}-{abi}-{plat}.whl",
    st.sampled_from(["cp38", "cp312", "cp313", "py3", "py2.py3", "cp311", "pp310"]),
    st.sampled_from(["cp38", "cp312", "cp313", "cp313t", "abi3", "none", "pypy310_pp73"]),
    st.sampled_from([*PLATFORMS, "win_amd64", "macosx_11_0_arm64", "any", "musllinux_1_2_x86_64"]),
    st.sampled_from(["", "1-", "2-"]),
)


@settings(max_examples=300)
@given(
    minor=st.sampled_from(sorted(INTERPRETERS)),
    wheels=st.lists(wheel_names, max_size=8, unique=True),
    with_sdist=st.booleans(),
)
def test_chosen_wheel_is_supported_and_ranked_first(minor: int, wheels: list[str], with_sdist: bool) -> None:
    interp = INTERPRETERS[minor]
    files = [DistFile(f"https://f/{name}", "a" * 64) for name in wheels]
    if with_sdist:
        files.append(DistFile("https://f/pkg-1.0.tar.gz", "b" * 64))
    chosen = choose_file(ResolvedPackage("pkg", "1.0", tuple(files)), interp)
    rank = {tag: index for index, tag in enumerate(interp.tags)}
    supported = [name for name in wheels if wheel_rank(name, rank) is not None]
    if supported:
        assert chosen is not None
        assert chosen.kind == "wheel"
        best = wheel_rank(chosen.filename, rank)
        assert best is not None
        assert all(best <= r for r in (wheel_rank(name, rank) for name in supported) if r is not None)
    elif with_sdist:
        assert chosen is not None
        assert chosen.kind == "sdist"
    else:
        assert chosen is None


def test_tag_order_prefers_specific_wheels() -> None:
    interp = INTERPRETERS[12]
    files = tuple(
        DistFile(f"https://f/{name}", "a" * 64)
        for name in (
            "pkg-1-py3-none-any.whl",
            "pkg-1-cp312-abi3-manylinux_2_17_x86_64.whl",
            "pkg-1-cp312-cp312-manylinux_2_17_x86_64.whl",
            "pkg-1-cp313-cp313-manylinux_2_17_x86_64.whl",
        )
    )
    chosen = choose_file(ResolvedPackage("pkg", "1", files), interp)
    assert chosen is not None
    assert chosen.filename == "pkg-1-cp312-cp312-manylinux_2_17_x86_64.whl"


texts = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
sha = st.text("0123456789abcdef", min_size=64, max_size=64)


def dists(depth: int = 1) -> st.SearchStrategy[LockedDist]:
    return st.builds(
        LockedDist,
        name=texts.filter(bool),
        version=texts,
        filename=texts.filter(bool),
        url=texts,
        sha256=sha,
        size=st.none() | st.integers(0, 2**40),
        kind=st.sampled_from(["wheel", "sdist"]),
        build_requires=st.lists(dists(depth - 1), max_size=2).map(tuple) if depth else st.just(()),
    )


entries = st.builds(
    LockEntry,
    lock_key=sha,
    interpreter=texts,
    index_url=texts,
    dists=st.lists(dists(), max_size=3).map(tuple),
    build_dists=st.lists(dists(0), max_size=2).map(tuple),
)


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(st.from_regex(r"[A-Za-z0-9_.()-]{1,10}", fullmatch=True) | texts.filter(bool), entries)
)
def test_lock_file_round_trip(tmp_path_factory: object, envs: dict[str, LockEntry]) -> None:
    lock = LockFile()
    for key, entry in envs.items():
        lock.put(key, entry)
    path = Path(tmp_path_factory.mktemp("lock")) / "nixtox.lock"  # type: ignore[attr-defined]
    lock.write(path)
    again = LockFile.read(path)
    assert again == lock
    assert again.dumps() == lock.dumps()  # byte-identical


def test_same_input_same_bytes() -> None:
    entry = LockEntry(
        "k",
        "i",
        "u",
        (LockedDist("b", "1", "b-1.whl", "u", "a" * 64), LockedDist("a", "1", "a.whl", "u", "b" * 64)),
    )
    one, two = LockFile(), LockFile()
    one.put("x", entry)
    one.put("y", entry)
    two.put("y", entry)
    two.put("x", dataclasses.replace(entry, dists=entry.dists[::-1]))
    assert one.dumps() == two.dumps()


BASE = EnvRequirements(("pytest",), ("pytest<9",), ("flit_core",))
BASE_INTERPRETER = INTERPRETERS[12]

changes = st.sampled_from(
    [
        ("requirements", lambda r, i, x: (dataclasses.replace(r, requirements=("pytest", "attrs")), i, x)),
        ("order", lambda r, i, x: (dataclasses.replace(r, requirements=("attrs", "pytest")), i, x)),
        ("constraints", lambda r, i, x: (dataclasses.replace(r, constraints=()), i, x)),
        ("build", lambda r, i, x: (dataclasses.replace(r, build_requirements=("hatchling",)), i, x)),
        ("metadata", lambda r, i, x: (dataclasses.replace(r, project_metadata="d"), i, x)),
        ("minor version", lambda r, i, x: (r, dataclasses.replace(i, version=(3, 13, 0)), x)),
        ("patch version only", lambda r, i, x: (r, dataclasses.replace(i, version=(3, 12, 7)), x)),
        ("pinned by", lambda r, i, x: (r, i, x)),
        ("tags", lambda r, i, x: (r, dataclasses.replace(i, tags=i.tags[1:]), x)),
        ("free-threaded", lambda r, i, x: (r, dataclasses.replace(i, free_threaded=True), x)),
        ("index", lambda r, i, x: (r, i, "https://mirror/simple")),
        ("path only", lambda r, i, x: (r, dataclasses.replace(i, executable=Path("/elsewhere")), x)),
        ("fingerprint only", lambda r, i, x: (r, dataclasses.replace(i, fingerprint="other"), x)),
    ]
)


@given(changes)
def test_lock_key_changes_iff_an_input_changes(change: tuple[str, object]) -> None:
    label, apply = change
    base_key = lock_key(BASE, BASE_INTERPRETER, "https://pypi.org/simple")
    requirements, interp, index = apply(BASE, BASE_INTERPRETER, "https://pypi.org/simple")  # type: ignore[operator]
    pinned_by = {"kind": "uv.lock", "lock": "0" * 64} if label == "pinned by" else None
    changed_key = lock_key(requirements, interp, index, pinned_by=pinned_by)
    assert lock_key(BASE, BASE_INTERPRETER, "https://pypi.org/simple") == base_key  # stable
    # machine-specific facts must not change the key (two machines agree), nor a patch release: whether
    # the pins hold on another patch release is the entry's `interpreter`, not the key
    if label in ("path only", "fingerprint only", "patch version only"):
        assert changed_key == base_key
    else:
        assert changed_key != base_key
