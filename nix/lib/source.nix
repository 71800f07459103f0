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
  # excluded only at the project's top level: a package may well hold a `build` or `dist` module.
  # The test runner's config and lock are not package source: editing one env's deps must not rebuild
  # every env's package.
  excludedTopNames = [
    "venv"
    "build"
    "dist"
    "tox.ini"
    "tox.toml"
    "nixtox.toml"
    "nixtox.lock"
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
    virtualenvs, caches, build outputs and `result` links do not change the hash. With `files` (paths
    relative to `path`, e.g. what `git ls-files` lists) and `dirs` (their parent directories), only those
    files enter the store: in a git checkout nixtox passes them, so git-ignored files (coverage data, test
    reports) never change the hash.

    Type: projectSource :: { path :: Path | String, name :: String ? "source", files :: [String]?, dirs :: [String]? } -> Path

    Example:
      projectSource { path = ./.; }
      => /nix/store/…-source
      projectSource { path = ./.; files = [ "pyproject.toml" "src/pkg/__init__.py" ]; dirs = [ "src" "src/pkg" ]; }
      => /nix/store/…-source
  */
  projectSource =
    {
      path,
      name ? "source",
      files ? null,
      dirs ? [ ],
    }:
    let
      root = toString path;
      asSet = list: builtins.listToAttrs (map (n: { name = n; value = true; }) list);
      fileSet = asSet files;
      dirSet = asSet dirs;
      relative = p: builtins.substring (builtins.stringLength root + 1) (builtins.stringLength p) p;
      listed =
        p: type:
        files == null || (if type == "directory" then dirSet ? ${relative p} else fileSet ? ${relative p});
    in
    if builtins.substring 0 1 root != "/" then
      throw "nixtox: projectSource: path must be absolute, got ${builtins.toJSON root}"
    else if !builtins.pathExists root then
      throw "nixtox: projectSource: ${root} does not exist"
    else
      builtins.path {
        path = /. + root;
        name = names.sanitiseName name;
        filter = p: type: keepSourcePath root p type && listed p type;
      };
in
{
  inherit projectSource keepSourcePath;
}
