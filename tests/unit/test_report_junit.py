"""JUnit XML: one testsuite per env, valid against Jenkins' schema, test runners' own files merged in."""

from __future__ import annotations

import dataclasses
import os
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from nixtox.model import Command, EnvResult
from nixtox.plugins import find_format
from nixtox.report import junit_xml, result_json, write_junit
from nixtox.report._junit import junit_paths
from tests.unit._report_samples import PYTEST_JUNIT, make_spec, ok, outcome, pytest_run, sample_results

XSD = Path(__file__).parents[1] / "fixtures" / "junit" / "jenkins-junit.xsd"


def assert_valid(document: bytes) -> None:
    etree = pytest.importorskip("lxml.etree")
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    parsed = etree.fromstring(document)
    assert schema.validate(parsed), schema.error_log


def suites(document: bytes) -> dict[str, ET.Element]:
    return {s.get("name", ""): s for s in ET.fromstring(document).iter("testsuite")}


def sample_junit() -> bytes:
    return junit_xml(result_json(sample_results(), seconds=12.5, exit_code=1), now=1_700_000_000.0)


def test_sample_run_is_valid_jenkins_junit() -> None:
    assert_valid(sample_junit())


def test_one_testsuite_per_env_with_counts() -> None:
    document = sample_junit()
    root = ET.fromstring(document)
    by_name = suites(document)
    assert list(by_name) == [
        label for label in result_json(sample_results(), seconds=0, exit_code=0)["testenvs"]
    ]
    failing = by_name["(sdist) py312-django50"]
    assert {k: failing.get(k) for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": "2", "failures": "1", "errors": "0", "skipped": "0",
    }  # fmt: skip
    assert failing.get("timestamp") == "2023-11-14T22:13:20"
    assert failing.get("hostname")
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("10", "1", "1")


def test_testcase_per_command_named_by_phase_and_argv() -> None:
    failing = suites(sample_junit())["(sdist) py312-django50"]
    cases = failing.findall("testcase")
    assert [c.get("name") for c in cases] == [
        "commands_pre[0] python -c 'print(1)'",
        "commands[0] pytest -q tests",
    ]
    assert {c.get("classname") for c in cases} == {"(sdist) py312-django50"}
    failure = cases[1].find("failure")
    assert failure is not None
    assert failure.get("message") == "exit code 1"
    assert failure.text == "FAILED tests/test_a.py::test_x - <script>alert(1)</script>\n"  # colour codes gone
    assert cases[0].findtext("system-out") == "3 passed\n"


def test_skipped_env_is_one_skipped_testcase() -> None:
    (case,) = suites(sample_junit())["py313-django42"].findall("testcase")
    skipped = case.find("skipped")
    assert skipped is not None
    assert skipped.get("message") == "could not find python interpreter py313"


def test_lock_error_is_an_error_testcase() -> None:
    suite = suites(sample_junit())["py310-django42"]
    assert suite.get("errors") == "1"
    error = suite.find("testcase/error")
    assert error is not None
    assert error.get("message") == "lock failed: no version of django>=4.2 supports python 3.10"
    assert error.text is not None
    assert "second line" in error.text


def test_nix_properties_on_each_suite() -> None:
    suite = suites(sample_junit())["py312-django42"]
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["cached"] == "true"
    assert props["python"] == "3.12.1"
    assert str(props["store_path"]).startswith("/nix/store/")


def test_ignored_failure_is_reported_skipped() -> None:
    spec = make_spec("py312-flaky", ignore_outcome=True)
    result = EnvResult(spec, "fail", commands=(outcome(Command(("pytest",)), code=1),), exit_code=1)
    document = junit_xml(result_json([result], seconds=1, exit_code=0))
    assert_valid(document)
    skipped = ET.fromstring(document).find("testsuite/testcase/skipped")
    assert skipped is not None
    assert "ignore_outcome" in skipped.get("message", "")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["pytest", "--junitxml=out/j.xml"], ["out/j.xml"]),
        (["pytest", "--junitxml", "j.xml", "-q"], ["j.xml"]),
        (["python", "-m", "pytest", "--junit-xml=/abs/j.xml"], ["/abs/j.xml"]),
        (["pytest", "--junit-xml", "a.xml"], ["a.xml"]),
        (["pytest", "--junitxml"], []),
        (["pytest", "--junitxml-other=x"], []),
    ],
)
def test_junit_paths_of_a_command(argv: list[str], expected: list[str]) -> None:
    assert junit_paths(argv, Path("/proj")) == [Path("/proj", e) for e in expected]


def test_merges_a_test_runners_junit_file(tmp_path: Path) -> None:
    document = junit_xml(result_json([pytest_run(tmp_path)], seconds=1, exit_code=0))
    assert_valid(document)
    suite = suites(document)["py312"]
    names = [(c.get("classname"), c.get("name")) for c in suite.findall("testcase")]
    # the command is represented by its tests: one failing test is one failure
    assert names == [
        ("py312.tests.test_a", "test_ok"),
        ("py312.tests.test_a", "test_bad"),
        ("py312.tests.test_a", "test_skip"),
    ]
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "1")
    assert suite.findtext("system-out", "").startswith("commands[0] pytest --junitxml=reports/junit.xml\n")
    bad = suite.findall("testcase")[1]
    assert bad.get("file") is None  # pytest's extra attributes are not in the schema
    assert bad.findtext("failure", "").startswith("def test_bad():")
    assert bad.findtext("system-out") == "printed"


def test_a_failing_test_run_is_one_failure_and_a_failure_no_test_shows_is_the_commands(
    tmp_path: Path,
) -> None:
    failing = pytest_run(tmp_path)
    failing = dataclasses.replace(
        failing, status="fail", exit_code=1, commands=(dataclasses.replace(failing.commands[0], exit_code=1),)
    )
    suite = suites(junit_xml(result_json([failing], seconds=1, exit_code=1)))["py312"]
    assert (suite.get("tests"), suite.get("failures")) == ("3", "1")
    (tmp_path / "reports" / "junit.xml").write_text(
        PYTEST_JUNIT.replace("<failure", "<skipped").replace("</failure>", "</skipped>")
    )
    document = junit_xml(result_json([failing], seconds=1, exit_code=1))
    assert_valid(document)
    suite = suites(document)["py312"]
    assert (suite.get("tests"), suite.get("failures")) == ("4", "1")  # e.g. a coverage threshold failed
    assert suite.findall("testcase")[-1].get("name") == "commands[0] pytest --junitxml=reports/junit.xml"


def test_an_ignored_envs_failed_tests_are_skipped(tmp_path: Path) -> None:
    result = pytest_run(tmp_path)
    result = dataclasses.replace(result, spec=make_spec("py312", change_dir=tmp_path, ignore_outcome=True))
    document = junit_xml(result_json([result], seconds=1, exit_code=0))
    assert_valid(document)
    suite = suites(document)["py312"]
    assert (suite.get("failures"), suite.get("skipped")) == ("0", "2")


def test_file_two_envs_wrote_at_once_is_not_merged(tmp_path: Path) -> None:
    wheel = pytest_run(tmp_path)
    sdist = dataclasses.replace(
        wheel, spec=dataclasses.replace(wheel.spec, format=find_format("sdist"), format_count=2)
    )
    wheel = dataclasses.replace(wheel, spec=dataclasses.replace(wheel.spec, format_count=2))
    document = junit_xml(result_json([wheel, sdist], seconds=1, exit_code=0))
    assert_valid(document)
    for suite in suites(document).values():
        (case,) = suite.findall("testcase")
        assert "while several envs' commands that write it ran" in case.findtext("system-err", "")


def test_stale_junit_file_is_not_merged(tmp_path: Path) -> None:
    result = pytest_run(tmp_path)
    old = time.time() - 3600
    os.utime(tmp_path / "reports" / "junit.xml", (old, old))
    document = junit_xml(result_json([result], seconds=1, exit_code=0))
    assert_valid(document)
    (case,) = suites(document)["py312"].findall("testcase")
    assert "outside this command's run" in case.findtext("system-err", "")


def test_missing_or_broken_junit_file_is_noted(tmp_path: Path) -> None:
    result = pytest_run(tmp_path)
    (tmp_path / "reports" / "junit.xml").write_text("<testsuites", encoding="utf-8")
    document = junit_xml(result_json([result], seconds=1, exit_code=0))
    assert_valid(document)
    assert "is not valid XML" in ET.fromstring(document).findtext("testsuite/testcase/system-err", "")
    (tmp_path / "reports" / "junit.xml").unlink()
    document = junit_xml(result_json([result], seconds=1, exit_code=0))
    assert "was not written" in ET.fromstring(document).findtext("testsuite/testcase/system-err", "")


def test_control_characters_in_output_stay_valid_xml() -> None:
    spec = make_spec("py312")
    noisy = outcome(Command(("pytest",)), output="\x1b[1mbold\x1b[0m \x00\x07 done\r\n")
    result = dataclasses.replace(ok(spec), commands=(noisy,))
    document = junit_xml(result_json([result], seconds=1, exit_code=0))
    assert_valid(document)
    assert ET.fromstring(document).findtext("testsuite/testcase/system-out") == "bold \\x00\\x07 done\n"


def test_write_junit_creates_the_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "junit.xml"
    write_junit(sample_results(), target, seconds=3.0)
    assert_valid(target.read_bytes())
    assert ET.parse(target).getroot().get("time") == "3.000"
