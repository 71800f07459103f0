"""``nixtox report --html``: the matrix page's structure, escaping, self-containment, CLI, real rendering."""

from __future__ import annotations

import dataclasses
import json
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
import zlib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from nixtox.cli import cli, main
from nixtox.report import html_report, result_json, write_html
from nixtox.report._html import _row_key
from tests.unit._report_samples import pytest_run, sample_results


class Page(HTMLParser):
    """Every start tag with its attributes, and the text of each ``<th>``/``<pre>``."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.texts: dict[str, list[str]] = {"th": [], "pre": [], "script": []}
        self._open: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        if tag in self.texts:
            self._open.append(tag)
            self.texts[tag].append("")

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1] == tag:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if self._open:
            self.texts[self._open[-1]][-1] += data

    def find(self, tag: str, cls: str = "") -> list[dict[str, str]]:
        return [a for t, a in self.tags if t == tag and (not cls or cls in a.get("class", "").split())]


def sample_data() -> dict[str, Any]:
    return result_json(sample_results(), seconds=12.5, exit_code=1)


@pytest.fixture(scope="module")
def page() -> Page:
    return Page(html_report(sample_data()))


def test_rows_are_interpreters_sorted_by_version(page: Page) -> None:
    rows = [
        t.split("\n")[0]
        for t, a in zip(page.texts["th"], page.find("th"), strict=True)
        if a.get("scope") == "row"
    ]
    # the resolved version is the row title's second line; envs that never locked have none
    assert rows == ["py310", "py3113.11.9", "py3123.12.1", "py313", "any python3.12.1"]


def test_columns_are_factors_by_package_format(page: Page) -> None:
    columns = [t for t, a in zip(page.texts["th"], page.find("th"), strict=True) if a.get("scope") == "col"]
    assert columns == ["django42wheel", "django50wheel", "django50sdist", "lintwheel"]


def test_cells_are_coloured_by_outcome_and_link_to_the_env_output(page: Page) -> None:
    links = page.find("a", "env")
    assert len(links) == 9
    statuses = sorted(next(c[2:] for c in a["class"].split() if c.startswith("s-")) for a in links)
    assert statuses == ["error", "fail", "ok", "ok", "ok", "ok", "ok", "ok", "skip"]
    anchors = {a["id"] for a in page.find("details", "env")}
    assert len(anchors) == 9
    assert {a["href"].removeprefix("#") for a in links} == anchors
    assert len(page.find("td", "none")) == 5 * 4 - 9  # empty matrix slots are drawn, not dropped


def test_failed_and_errored_envs_are_open(page: Page) -> None:
    opened = [a["id"] for a in page.find("details", "env") if "open" in a]
    assert len(opened) == 2
    assert any("sdist-py312-django50" in o for o in opened)
    assert any("py310-django42" in o for o in opened)


def test_output_is_escaped_and_stripped_of_colour_codes() -> None:
    text = html_report(sample_data())
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "\x1b" not in text
    assert "FAILED tests/test_a.py::test_x - <script>alert(1)</script>\n" in Page(text).texts["pre"]


def test_page_is_self_contained(page: Page) -> None:
    assert page.find("link") == []
    assert all("src" not in attrs for tag, attrs in page.tags if tag in ("script", "img", "iframe"))
    external = [a["href"] for a in page.find("a") if a.get("href") and not a["href"].startswith("#")]
    assert external == []
    assert "url(" not in html_report(sample_data())


def test_renders_deterministically() -> None:
    assert html_report(sample_data()) == html_report(sample_data())


def test_interpreter_rows_sort_by_version() -> None:
    requests = ["any python", "py312", "3.9", "pypy310", "py310", "python3.11", "base"]
    assert sorted(requests, key=_row_key) == [
        "3.9",
        "py310",
        "python3.11",
        "py312",
        "pypy310",
        "base",
        "any python",
    ]


def test_handles_a_plain_tox_result_json() -> None:
    """A file tox itself wrote has no factors/status/python_request: the page still renders."""
    ok = {"success": True, "exit_code": 0, "duration": 1.0}
    command = {"command": ["pytest"], "retcode": 0, "output": "ok", "elapsed": 1.0, "start": 1.0}
    data = {
        "reportversion": "1",
        "toxversion": "4.20.0",
        "platform": "linux",
        "host": "h",
        "testenvs": {
            "py312-a": {"name": "py312-a", "result": ok, "test": [command]},
            ".pkg": {"name": ".pkg", "result": {"success": False, "exit_code": 1, "duration": 0.1}},
        },
    }
    page = Page(html_report(data))
    assert len(page.find("a", "env")) == 2
    rows = [t for t, a in zip(page.texts["th"], page.find("th"), strict=True) if a.get("scope") == "row"]
    assert rows == ["py312", "any python"]


def data_with_tests(tmp_path: Path) -> dict[str, Any]:
    """The sample, plus an env whose pytest JUnit file is there and whose logs were kept."""
    tested = pytest_run(tmp_path)
    tested = dataclasses.replace(
        tested,
        spec=dataclasses.replace(tested.spec, name="py312-tested", factors=("py312", "tested")),
        status="fail",
        exit_code=1,
        log_dir=tmp_path / ".nixtox" / "envs" / "py312-tested" / "log",
    )
    project = {"name": "demo", "version": "1.0", "commit": "0123456789abcdef0123"}
    return result_json([*sample_results(), tested], seconds=12.5, exit_code=1, project=project)


def test_tests_table_lists_failures_first_with_message_and_traceback(tmp_path: Path) -> None:
    html = html_report(data_with_tests(tmp_path))
    page = Page(html)
    rows = [a["class"] for a in page.find("tr") if a.get("class", "").startswith("t-")]
    assert rows == ["t-failed", "t-skipped", "t-passed"]
    assert "assert 1 == 2" in html  # the failure's message
    assert any(text.startswith("def test_bad():") for text in page.texts["pre"])  # and its traceback
    assert "tests.test_a::test_bad" in html


def test_header_names_the_project_version_and_commit(tmp_path: Path) -> None:
    html = html_report(data_with_tests(tmp_path))
    assert "<h1>demo 1.0</h1>" in html
    assert 'commit <code title="0123456789abcdef0123">0123456789ab</code>' in html


def test_each_env_links_its_logs_relative_to_the_page(tmp_path: Path) -> None:
    target = tmp_path / "out" / "report.html"
    write_html(data_with_tests(tmp_path), target)
    page = Page(target.read_text(encoding="utf-8"))
    links = {a["href"] for a in page.find("a") if "log" in a.get("href", "")}
    assert links == {"../.nixtox/envs/py312-tested/log", "../.nixtox/envs/py312-tested/log/1-commands[0].log"}


def test_cli_writes_html_and_junit(tmp_path: Path) -> None:
    source = tmp_path / "r.json"
    source.write_text(json.dumps(sample_data()), encoding="utf-8")
    runner = CliRunner()
    out = runner.invoke(cli, ["report", str(source), "--html", str(tmp_path / "o" / "r.html")])
    assert out.exit_code == 0, out.output
    assert (tmp_path / "o" / "r.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    out = runner.invoke(cli, ["report", "--from", str(source), "--junit", str(tmp_path / "j.xml")])
    assert out.exit_code == 0, out.output
    assert (tmp_path / "j.xml").read_bytes().startswith(b"<?xml")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--html", "x.html"], "which result JSON?"),
        (["r.json"], "nothing to write"),
        (["missing.json", "--html", "x.html"], "cannot read missing.json"),
        (["bad.json", "--html", "x.html"], "bad.json is not JSON"),
        (["list.json", "--html", "x.html"], "list.json holds a list, not a result object"),
        (["five.json", "--html", "x.html"], "five.json: `testenvs.x` is 5, expected an object"),
        (["latin1.json", "--junit", "x.xml"], "latin1.json is not UTF-8 text"),
        (
            ["code.json", "--junit", "x.xml"],
            'code.json: `testenvs.x.test[0].retcode` is "1", expected an integer',
        ),
        (["nothing.json", "--html", "x.html"], "nothing.json has no `testenvs` object"),
        (["r.json", "--from", "bad.json", "--html", "x.html"], "give the result JSON once"),
    ],
)
def test_cli_errors_are_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("r.json").write_text(json.dumps(sample_data()), encoding="utf-8")
    Path("bad.json").write_text("{", encoding="utf-8")
    Path("list.json").write_text("[]", encoding="utf-8")
    Path("five.json").write_text('{"testenvs": {"x": 5}}', encoding="utf-8")
    Path("latin1.json").write_bytes('{"testenvs": {"é": {}}}'.encode("latin-1"))
    Path("code.json").write_text('{"testenvs": {"x": {"result": {}, "test": [{"retcode": "1"}]}}}')
    Path("nothing.json").write_text("{}", encoding="utf-8")
    assert main(["report", *args]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert sum("rror: " in line for line in err.splitlines()) == 1
    assert "Traceback" not in err
    assert not Path("x.html").exists()
    assert not Path("x.xml").exists()


#: a file tox 4.67 wrote (`tox run -e py312,py39 --result-json`: py312 failed, py39 has no interpreter)
TOX_FILE = Path(__file__).parents[1] / "fixtures" / "tox" / "result-json-4.67.json"


def test_renders_the_file_tox_4_writes_with_its_packaging_and_not_run_envs(tmp_path: Path) -> None:
    """tox writes `.pkg` (no result) and `{}` for env_list envs that did not run."""
    runner = CliRunner()
    html, junit = tmp_path / "r.html", tmp_path / "j.xml"
    out = runner.invoke(cli, ["report", str(TOX_FILE), "--html", str(html), "--junit", str(junit)])
    assert out.exit_code == 0, out.output
    page = Page(html.read_text(encoding="utf-8"))
    assert sorted(a.get("title", "").split(":")[0] for a in page.find("a", "env")) == ["py312", "py39"]
    assert "Not shown (no result: packaging envs, or envs that did not run): .pkg, py311" in html.read_text()
    suites = [s.get("name") for s in ET.parse(junit).getroot().iter("testsuite")]
    assert suites == ["py312", "py39"]


# -- a real browser ---------------------------------------------------------------------------------------

CHROMIUM = next(
    (p for n in ("chromium", "chromium-browser", "google-chrome") if (p := shutil.which(n))), None
)
#: background colours of an ok / fail / skip / error cell (the ``--*-bg`` CSS variables)
CELL_COLOURS = {
    "ok": (0xDC, 0xFC, 0xE7),
    "fail": (0xFE, 0xE2, 0xE2),
    "skip": (0xF1, 0xF5, 0xF9),
    "error": (0xFF, 0xED, 0xD5),
}


def png_pixels(data: bytes, max_rows: int) -> tuple[int, int, set[tuple[int, int, int]]]:
    """(width, height, distinct RGB colours of the first ``max_rows`` rows): a stdlib PNG decoder."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, depth, colour_type = struct.unpack(">IIBB", data[16:26])
    assert data[12:16] == b"IHDR"
    assert depth == 8
    assert colour_type in (2, 6)
    channels = 4 if colour_type == 6 else 3
    idat, pos = b"", 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        if data[pos + 4 : pos + 8] == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    previous = bytearray(stride)
    colours: set[tuple[int, int, int]] = set()
    for row in range(min(height, max_rows)):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        colours.update(zip(line[0::channels], line[1::channels], line[2::channels], strict=True))
        previous = line
    return width, height, colours


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium)")
def test_screenshot_in_headless_chromium(tmp_path: Path) -> None:
    page_file = tmp_path / "report.html"
    write_html(data_with_tests(tmp_path), page_file)
    shot = tmp_path / "shot.png"
    assert CHROMIUM is not None
    subprocess.run(
        [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1280,900",
            page_file.as_uri(),
        ],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    data = shot.read_bytes()
    assert len(data) > 30_000  # a blank 1280x900 page compresses to a few KB
    width, height, colours = png_pixels(data, max_rows=560)  # the header and the matrix
    assert (width, height) == (1280, 900)
    assert len(colours) > 200  # text antialiasing on several backgrounds
    missing = {status for status, rgb in CELL_COLOURS.items() if rgb not in colours}
    assert missing == set(), f"no cell painted in the colour of {missing}"
