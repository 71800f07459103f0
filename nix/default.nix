# nixtox's Nix library: fetch, build and install Python distributions into venv-shaped store paths.
# Needs no nixpkgs: plain `derivation`, `import <nix/fetchurl.nix>` and `builtins.path`.
#
#   let nixtox = import /path/to/nix { }; in nixtox.mkEnv { … }
#
# `system` is for pure evaluation (flakes), which has no `builtins.currentSystem`: the library files
# read it, so with an explicit system they are imported in a scope where it is set. The derivations
# are the same either way (same attributes, same hashes).
{
  system ? null,
}:
let
  systemScope = {
    builtins = builtins // {
      currentSystem = system;
    };
    import = scopedImport systemScope;
  };
  import = if system == null then builtins.import else scopedImport systemScope;
  names = import ./lib/names.nix;
  fetch = import ./lib/fetch.nix { inherit names; };
  tools = import ./lib/tools.nix { inherit (fetch) fetchDist; };
  pythonLib = import ./lib/python.nix { inherit names tools; };
  env = import ./lib/env.nix { inherit pythonLib; };
  build = import ./lib/build.nix { inherit pythonLib env; };
  shell = import ./lib/shell.nix;
  source = import ./lib/source.nix { inherit names; };
  check = import ./lib/check.nix { inherit names; };
  interpreter = import ./lib/interpreter.nix { inherit pythonLib tools; };
in
{
  inherit (fetch) fetchDist;
  inherit (build) buildDist;
  inherit (env) installLayer mkEnv;
  inherit (shell) mkShell;
  inherit (source) projectSource keepSourcePath looksSecret;
  inherit (pythonLib) checkPython;
  inherit (interpreter) importedPython;
  inherit (check) mkCheck checkPassed toxCommands;
  /*
    The library for one system, for pure evaluation (a flake): `forSystem "x86_64-linux"`.

    Type: forSystem :: String -> AttrSet
  */
  forSystem = s: import ./. { system = s; };
  inherit tools;
  lib = names;
}
