import sys

import demo


def test_newest_follows_pep440():
    assert demo.newest("1.0", "1.10", "1.9") == "1.10"
    assert demo.newest("2.0rc1", "2.0") == "2.0"


def test_runs_in_the_nix_env():
    # the interpreter's prefix is the env's store path, not the host interpreter
    assert sys.prefix.startswith("/nix/store/"), sys.prefix


def test_packaging_comes_from_the_env():
    import packaging

    assert packaging.__file__.startswith(sys.prefix)
