# nixtox's Nix library: fetch, build and install Python distributions into venv-shaped store paths.
# Needs no nixpkgs: plain `derivation`, `import <nix/fetchurl.nix>` and `builtins.path`.
#
#   let nixtox = import /path/to/nix { }; in nixtox.mkEnv { … }
{ }:
let
  names = import ./lib/names.nix;
  fetch = import ./lib/fetch.nix { inherit names; };
  tools = import ./lib/tools.nix { inherit (fetch) fetchDist; };
  pythonLib = import ./lib/python.nix { inherit names tools; };
  build = import ./lib/build.nix { inherit names pythonLib; };
  env = import ./lib/env.nix { inherit pythonLib; };
  shell = import ./lib/shell.nix;
  source = import ./lib/source.nix { inherit names; };
in
{
  inherit (fetch) fetchDist;
  inherit (build) buildDist metadataHashOf;
  inherit (env) mkEnv;
  inherit (shell) mkShell;
  inherit (source) projectSource keepSourcePath;
  inherit (pythonLib) checkPython;
  inherit tools;
  lib = names;
}
