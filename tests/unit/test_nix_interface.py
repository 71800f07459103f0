"""The narrow Nix interface: options per call, and reading Nix's error messages."""

from __future__ import annotations

import pytest

from nixtox.nix import NixOptions, nix_options_argv, parse_realise_errors

# what nix-store --realise (Nix 2.8) printed on this machine for a tampered pin and a failing builder
STDERR = """\
building '/nix/store/s7hcsvfqlxqw4p71xwr0jwklv2cwdmwk-iniconfig-2.3.1-py3-none-any.whl.drv'...
error: hash mismatch in fixed-output derivation '/nix/store/s7hcsvfqlxqw4p71xwr0jwklv2cwdmwk-iniconfig-2.3.1-py3-none-any.whl.drv':
         specified: sha256-ASHiwf2zVSMklb4xlMjf6HzMLV3uRZR7eOaPSZeQ16c=
            got:    sha256-kSHiwf2zVSMklb4xlMjf6HzMLV3uRZR7eOaPSZeQ16c=
error: builder for '/nix/store/abc-demo-wheel.drv' failed with exit code 1;
       last 10 log lines:
"""


def test_parse_realise_errors_finds_failed_builders_and_hash_mismatches() -> None:
    failed, mismatches = parse_realise_errors(STDERR)
    assert failed == ("/nix/store/abc-demo-wheel.drv",)
    drv = "/nix/store/s7hcsvfqlxqw4p71xwr0jwklv2cwdmwk-iniconfig-2.3.1-py3-none-any.whl.drv"
    wanted, got = mismatches[drv]
    assert wanted == "sha256:0121e2c1fdb355232495be3194c8dfe87ccc2d5dee45947b78e68f499790d7a7"
    assert got == "sha256:9121e2c1fdb355232495be3194c8dfe87ccc2d5dee45947b78e68f499790d7a7"


def _options(argv: list[str]) -> dict[str, str]:
    return {argv[i + 1]: argv[i + 2] for i in range(0, len(argv), 3) if argv[i] == "--option"}


def test_default_substituter_is_replaced_by_the_configured_caches() -> None:
    assert _options(nix_options_argv(NixOptions()))["substituters"] == ""
    configured = NixOptions(substituters=("file:///cache",), trusted_public_keys=("k:1",))
    opts = _options(nix_options_argv(configured))
    assert opts["substituters"] == "file:///cache"
    assert opts["trusted-public-keys"] == "k:1"


@pytest.mark.parametrize("jobs", [1, 4, "auto"])
def test_jobs_are_passed(jobs: int | str) -> None:
    assert _options(nix_options_argv(NixOptions(max_jobs=jobs)))["max-jobs"] == str(jobs)
