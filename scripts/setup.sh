#!/usr/bin/env bash
# Sets up a development checkout of nixtox on a fresh Debian/Ubuntu machine (or any machine with Nix):
#   - Nix (Debian's nix-bin) and git when missing,
#   - with --test also what the test suite drives: tmux (a real terminal for `nixtox shell`),
#     Chromium with a font (a screenshot of the HTML report), skopeo and umoci (OCI images), and
#     openssh-server (its sshd serves the simulated remote builders, tests/integration/_machines.py;
#     where systemd runs, the package also enables the ssh service on port 22:
#     `systemctl disable --now ssh` if you do not want it),
#   - .venv with nixtox installed editable plus the test tools.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

want=()
command -v nix-build >/dev/null 2>&1 || want+=(nix-bin)
command -v git >/dev/null 2>&1 || want+=(git)
if [ "${1:-}" = "--test" ]; then
  command -v tmux >/dev/null 2>&1 || want+=(tmux)
  command -v chromium >/dev/null 2>&1 || want+=(chromium fonts-dejavu-core)
  # the OCI image kind's tests validate archives with skopeo and unpack them with umoci
  command -v skopeo >/dev/null 2>&1 || want+=(skopeo)
  command -v umoci >/dev/null 2>&1 || want+=(umoci)
  [ -x /usr/sbin/sshd ] || want+=(openssh-server)
fi
if [ ${#want[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "setup: installing ${want[*]} (apt-get)"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
  else
    echo "setup: missing ${want[*]}; install them (Nix: https://nixos.org/download) and re-run" >&2
    exit 1
  fi
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($python --version)"
  "$python" -m venv .venv
fi
if ! .venv/bin/python -c "import nixtox, pytest, hypothesis, uv" >/dev/null 2>&1; then
  echo "setup: installing nixtox and its test tools into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[test]'
fi
echo "setup: ok ($(nix-build --version), $(.venv/bin/nixtox --version))"
