"""Nix's stderr -> one line per finished step with its time, counted as Nix announced them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nixtox._build_progress import BuildProgress, store_root

H = "0" * 31  # store hashes are 32 characters: H + one more


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeStore:
    """A chroot-store layout under ``root``: .drv files Nix would have written, outputs it would build."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "nix" / "store").mkdir(parents=True)

    def drv(self, tag: str, name: str, builder: str = "/usr/bin/python3.12") -> str:
        out = f"/nix/store/{tag}{H}-{name}"
        drv = f"/nix/store/{tag}{H}-{name}.drv"
        text = f'Derive([("out","{out}","","")],[],[],"x86_64-linux","{builder}",["-I"],[("name","{name}")])'
        (self.root / drv.lstrip("/")).write_text(text)
        return drv

    def finish(self, drv_or_path: str) -> None:
        """Nix registered the output: it is there with the canonical mtime 1."""
        out = self.root / drv_or_path.removesuffix(".drv").lstrip("/")
        out.mkdir(exist_ok=True)
        os.utime(out, (1, 1))

    def start(self, drv_or_path: str) -> None:
        """A builder writing its output: there, but not canonical yet."""
        (self.root / drv_or_path.removesuffix(".drv").lstrip("/")).mkdir(exist_ok=True)


@pytest.fixture
def fake(tmp_path: Path) -> FakeStore:
    return FakeStore(tmp_path)


def follow(fake: FakeStore, **kwargs: object) -> tuple[BuildProgress, list[str], Clock]:
    said: list[str] = []
    clock = Clock()
    return BuildProgress(said.append, store_dir=str(fake.root), clock=clock, **kwargs), said, clock  # type: ignore[arg-type]


def test_each_step_says_how_long_it_took_when_it_is_done(fake: FakeStore) -> None:
    sdist, env = fake.drv("a", "demo-sdist"), fake.drv("b", "nixtox-env-py312")
    progress, said, clock = follow(fake)
    for line in ["these 2 derivations will be built:", f"  {sdist}", f"  {env}", f"building '{sdist}'..."]:
        progress(line + "\n")
    fake.start(sdist)
    progress("nixtox: sdist of demo\n")  # the builder is still writing: not done yet
    clock.now += 1.5
    fake.finish(sdist)
    progress(f"building '{env}'...\n")
    clock.now += 0.25
    fake.finish(env)
    progress.finish()
    assert said == [
        "nixtox: Nix: 2 to build, 0 to fetch\n",
        "nixtox: [1/2] built demo-sdist (python3.12) in 1.50 s\n",
        "nixtox: [2/2] built nixtox-env-py312 in 0.25 s\n",  # its name says the interpreter already
    ]


def test_the_same_package_for_two_interpreters_says_which_is_which(fake: FakeStore) -> None:
    for_312 = fake.drv("a", "demo-sdist", "/root/.pyenv/versions/3.12.1/bin/python3.12")
    for_311 = fake.drv("b", "demo-sdist", "/nix/store/xyz-python3-3.11.9/bin/python3.11")
    again = fake.drv("c", "demo-sdist", "/root/.pyenv/versions/3.12.1/bin/python3.12")
    progress, said, _ = follow(fake)
    for drv in (for_312, for_311, again):
        progress(f"building '{drv}'...\n")
        fake.finish(drv)
    progress.finish()
    names = [line.split(" built ")[1].split(" in ")[0] for line in said]
    assert names == [
        "demo-sdist (python3.12)",
        "demo-sdist (python3.11)",
        f"demo-sdist (python3.12) [c{H[:6]}]",
    ]


def test_no_count_without_nixs_announcement_and_never_beyond_it(fake: FakeStore) -> None:
    one, two = fake.drv("a", "one"), fake.drv("b", "two")
    progress, said, _ = follow(fake)
    progress(f"building '{one}'...\n")
    fake.finish(one)
    progress.finish()
    assert said == ["nixtox: built one (python3.12) in 0.00 s\n"]  # not [1/?]
    progress, said, _ = follow(fake)
    for line in [
        "these 1 derivations will be built:",
        f"  {one}",
        f"building '{one}'...",
        f"building '{two}'...",
    ]:
        progress(line + "\n")  # Nix built one more than it announced
    fake.finish(two)
    progress.finish()
    # one was done before Nix started two: its total was 1 then, and grew with the step Nix added
    assert [line.split("] ")[0] for line in said[1:]] == ["nixtox: [1/1", "nixtox: [2/2"]


def test_downloads_and_failures_get_their_lines(fake: FakeStore) -> None:
    wheel = f"/nix/store/w{H}-attrs-26.1.0-py3-none-any.whl"
    broken = fake.drv("x", "broken-sdist")
    progress, said, clock = follow(fake)
    progress("these 1 paths will be fetched (0.05 MiB download, 0.2 MiB unpacked):\n")
    progress(f"  {wheel}\n")
    progress(f"copying path '{wheel}' from 'file:///cache'...\n")
    progress(f"building '{broken}'...\n")
    fake.finish(wheel)
    progress("nixtox: building the sdist\n")
    clock.now += 3
    progress(f"error: builder for '{broken}' failed with exit code 1;\n")
    progress.finish()
    assert said == [
        "nixtox: Nix: 0 to build, 1 to fetch\n",
        "nixtox: [1/1] fetched attrs-26.1.0-py3-none-any.whl in 0.00 s\n",
        "nixtox: [1/1] failed to build broken-sdist (python3.12) in 3.00 s\n",
    ]


def test_verbose_streams_the_running_steps_log(fake: FakeStore) -> None:
    one, two = fake.drv("a", "one"), fake.drv("b", "two")
    progress, said, _ = follow(fake, verbosity=3)
    progress(f"building '{one}'...\n")
    progress("compiling foo.c\n")
    progress(f"building '{two}'...\n")
    progress("linking\n")
    assert said == ["one (python3.12)> compiling foo.c\n", "nix> linking\n"]
    quiet, said_quietly, _ = follow(fake)
    quiet(f"building '{one}'...\n")
    quiet("compiling foo.c\n")
    assert said_quietly == []


def test_quiet_says_only_failures(fake: FakeStore) -> None:
    one = fake.drv("a", "one")
    progress, said, _ = follow(fake, verbosity=1)
    for line in ["these 1 derivations will be built:", f"  {one}", f"building '{one}'..."]:
        progress(line + "\n")
    fake.finish(one)
    progress.finish()
    assert said == []


@given(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=12), st.integers(0, 4))
def test_a_count_never_passes_its_total(
    tmp_path_factory: pytest.TempPathFactory, order: list[str], announced: int
) -> None:
    fake = FakeStore(tmp_path_factory.mktemp("store"))
    drvs = {tag: fake.drv(tag, f"step-{tag}") for tag in "abcd"}
    progress, said, _ = follow(fake)
    progress(f"these {announced} derivations will be built:\n")
    for tag in "abcd"[:announced]:
        progress(f"  {drvs[tag]}\n")
    for tag in order:
        progress(f"building '{drvs[tag]}'...\n")
        fake.finish(drvs[tag])
    progress.finish()
    for line in said[1:]:
        done, total = map(int, line.split("[")[1].split("]")[0].split("/"))
        assert 1 <= done <= total


@pytest.mark.parametrize(
    ("store", "root"),
    [("", ""), ("/tmp/st", "/tmp/st"), ("local?root=/tmp/st", "/tmp/st"), ("daemon", ""), ("ssh-ng://h", "")],
)
def test_where_a_store_keeps_its_files(store: str, root: str) -> None:
    assert store_root(store) == root
