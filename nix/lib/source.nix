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

  # names of files and directories that hold secrets, at any depth (kept in sync with nixtox/source.py)
  secretNames = [
    ".netrc"
    "_netrc"
    ".pypirc"
    ".npmrc"
    ".git-credentials"
    ".pgpass"
    ".htpasswd"
    ".ssh"
    ".gnupg"
    ".aws"
    ".docker"
  ];
  secretPrefixes = [
    ".env"
    "id_rsa"
    "id_dsa"
    "id_ecdsa"
    "id_ed25519"
  ];
  secretSuffixes = [
    ".pem"
    ".key"
    ".p12"
    ".pfx"
    ".jks"
    ".keystore"
    ".ppk"
    ".kdbx"
  ];

  /*
    Whether a file or directory name is one nobody wants world-readable in the store: `.env*`, private
    keys, credentials. Without a file list `projectSource` leaves such files out; with one (nixtox
    passes it) the list decides, and nixtox lists them only when git tracks them or a `!` line of a
    `.gitignore` re-includes them.

    Type: looksSecret :: String -> Bool

    Example:
      looksSecret ".env.local"
      => true
  */
  looksSecret =
    name:
    builtins.elem name secretNames
    || builtins.any (prefix: names.hasPrefix prefix name) secretPrefixes
    || builtins.any (suffix: names.hasSuffix suffix name) secretSuffixes;

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
    relative to `path`: what nixtox lists, following git or the `.gitignore` files) and `dirs` (their
    parent directories), only those files enter the store, so ignored files (coverage data, test
    reports) never change the hash. Without `files`, names that look like secrets (`looksSecret`) are
    left out; `.gitignore` files are not read.

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
        if files == null then
          !looksSecret (baseNameOf p)
        else if type == "directory" then
          dirSet ? ${relative p}
        else
          fileSet ? ${relative p};
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
  inherit projectSource keepSourcePath looksSecret;
}
