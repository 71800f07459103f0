# Project source into the store, without the files that change for unrelated reasons.
{ names }:
let
  # excluded at any depth
  excludedNames = [
    ".git"
    ".hg"
    ".svn"
    ".nixtox"
    ".tox"
    ".nox"
    ".venv"
    ".direnv"
    "__pycache__"
    ".pytest_cache"
    ".mypy_cache"
    ".ruff_cache"
    ".hypothesis"
  ];
  # excluded only at the project's top level: a package may well hold a `build` or `dist` module
  excludedTopNames = [
    "venv"
    "build"
    "dist"
  ];

  /*
    Whether a file of the project at `root` enters the store (the filter of `projectSource`).

    Type: keepSourcePath :: String -> String -> String -> Bool

    Example:
      keepSourcePath "/p" "/p/src/pkg/__pycache__" "directory"
      => false
  */
  keepSourcePath =
    root: path: type:
    let
      base = baseNameOf path;
      top = dirOf path == root;
    in
    !(
      builtins.elem base excludedNames
      || names.hasSuffix ".pyc" base
      || names.hasSuffix ".egg-info" base
      || (top && builtins.elem base excludedTopNames)
      || (top && names.hasPrefix "result" base && type == "symlink")
    );

  /*
    Copy a project tree into the store through a filter, so edits in VCS metadata, tox/nixtox state,
    virtualenvs, caches, build outputs and `result` links do not change the hash.

    Type: projectSource :: { path :: Path | String, name :: String ? "source" } -> Path

    Example:
      projectSource { path = ./.; }
      => /nix/store/…-source
  */
  projectSource =
    {
      path,
      name ? "source",
    }:
    let
      root = toString path;
    in
    if builtins.substring 0 1 root != "/" then
      throw "nixtox: projectSource: path must be absolute, got ${builtins.toJSON root}"
    else if !builtins.pathExists root then
      throw "nixtox: projectSource: ${root} does not exist"
    else
      builtins.path {
        path = /. + root;
        name = names.sanitiseName name;
        filter = keepSourcePath root;
      };
in
{
  inherit projectSource keepSourcePath;
}
