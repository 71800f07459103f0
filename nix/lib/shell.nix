# Interactive shells over an environment, for `nix develop -f FILE ATTR` and `nix-shell -A ATTR FILE`.
let
  /*
    A derivation that puts `env` first on PATH and sets VIRTUAL_ENV. `nix develop` requires a builder
    whose base name is `bash` and `outputs = [ "out" ]`; no stdenv is needed, so the host's /bin/bash
    is the builder. Building it just writes a small file naming the environment.

    Type: mkShell :: { env :: Derivation, name :: String ? "<env>-shell", shellHook :: String ? "" } -> Derivation

    Example:
      mkShell { env = mkEnv { … }; shellHook = "export MY_VAR=1"; }
      => «derivation /nix/store/…-py312-shell.drv»
  */
  mkShell =
    {
      env,
      name ? "${env.envName or env.name or "nixtox-env"}-shell",
      shellHook ? "",
    }:
    if !(builtins.isAttrs env && env ? outPath) then
      throw "nixtox: mkShell: env must be an mkEnv derivation, got ${builtins.typeOf env}"
    else
      derivation {
        inherit name;
        system = builtins.currentSystem;
        builder = "/bin/bash";
        args = [
          "-c"
          "echo \"$VIRTUAL_ENV\" > \"$out\""
        ];
        outputs = [ "out" ];
        PATH = "${env}/bin:/usr/bin:/bin";
        VIRTUAL_ENV = "${env}";
        nixtoxEnv = "${env}";
        # nix-shell sources $stdenv/setup: a stand-in that exports PATH (else programs started in the
        # shell see none, and a venv python misses its pyvenv.cfg) and runs the shellHook.
        stdenv = builtins.path {
          path = ./nix-shell-setup;
          name = "nixtox-nix-shell-setup";
        };
        shellHook = ''
          echo "nixtox: environment ${name} active (${env})" >&2
          # bytecode goes to a cache dir, never into the (immutable) env: as root without a daemon the
          # store is writable, and a __pycache__ written there would corrupt the store path
          export PYTHONPYCACHEPREFIX="''${PYTHONPYCACHEPREFIX:-''${XDG_CACHE_HOME:-$HOME/.cache}/nixtox/pycache}"
          ${shellHook}
        '';
      };
in
{
  inherit mkShell;
}
