# Building a distribution (the project, or a dependency published only as an sdist) with its PEP 517
# backend, in an isolated build environment that holds only the declared build requirements.
{ pythonLib, env }:
let
  validVcsVersion =
    v:
    builtins.isAttrs v
    && builtins.isString (v.version or null)
    && v.version != ""
    && builtins.isAttrs (v.env or { })
    && builtins.all builtins.isString (builtins.attrValues (v.env or { }))
    && builtins.isBool (v.pkgInfo or false)
    && builtins.all (name: builtins.elem name [ "version" "env" "pkgInfo" ]) (builtins.attrNames v);

  /*
    Build one wheel with the project's PEP 517 backend.

    The build environment is an `mkEnv` of `python` holding exactly `buildRequires`, a derivation of
    its own shared by every build with the same interpreter and requirements; when a build fails, the
    backend's `get_requires_for_build_*` answers are checked against it, and anything missing is named
    in the error. The output is a directory holding exactly one `.whl` and
    `nix-support/nixtox-dist.json` (name, version, wheel file name, format).

    * format "wheel": build the wheel from the `src` tree.
    * format "sdist": build the sdist from the `src` tree, then the wheel from that sdist (a file
      missing from the sdist shows up); the sdist is kept in the output next to the wheel.
    * `src` may also be an sdist file (a `fetchDist` result): it is unpacked and a wheel built from it.
    * format "editable": PEP 660 `build_editable` on the real tree at `projectRoot`, an absolute path
      string that is NOT copied to the store. The derivation depends on `metadataHash` (the caller's hash
      of the project's metadata files; nixtox passes `nixtox.source.metadata_hash`), so source edits do not
      rebuild it. Needs a build without
      sandbox (nixtox's daemonless root mode); a sandboxed daemon cannot see `projectRoot`. The files
      `build_editable` writes into that tree (a `_version.py`) are recorded in the wheel, in
      `<name>.dist-info/nixtox-tree-files.json`, so a run can put them back after a `git clean`.
    * `vcsVersion`: the project's version when it comes from version control, which the store copy of
      the tree lacks (`.git` is never copied): `{ version; env ? { }; pkgInfo ? false; }`. `env` holds the
      backend's pretend-version variables (`SETUPTOOLS_SCM_PRETEND_VERSION`, `PDM_BUILD_SCM_VERSION` ...),
      set for the backend's hooks; `pkgInfo` writes a `PKG-INFO` with the version into the build's copy
      of the tree (setuptools-git-versioning and versioningit read one where there is no VCS). The
      version is a value of the derivation: a new commit rebuilds the package and nothing else. null
      (the default) adds no attribute.

    Type: buildDist :: {
      pname :: String, src :: (Path | Derivation)?, format :: String ? "wheel", python :: AttrSet,
      buildRequires :: [ Derivation ] ? [ ], configSettings :: AttrSet ? { },
      projectRoot :: String? , metadataHash :: String?,
      vcsVersion :: { version :: String, env :: AttrSet ? { }, pkgInfo :: Bool ? false }? } -> Derivation

    Example:
      buildDist {
        pname = "myproj";
        src = projectSource { path = ./.; };
        format = "sdist";
        python = { executable = "/usr/bin/python3.11"; version = "3.11.2"; fingerprint = "…"; };
        buildRequires = [ setuptoolsWheel ];
      }
      => «derivation /nix/store/…-myproj-sdist.drv»
  */
  buildDist =
    {
      pname,
      src ? null,
      format ? "wheel",
      python,
      buildRequires ? [ ],
      configSettings ? { },
      projectRoot ? null,
      metadataHash ? null,
      vcsVersion ? null,
    }:
    let
      editable = format == "editable";
      root = toString projectRoot; # toString: a path value must not be copied to the store
      srcAttrs =
        if editable then
          {
            projectRoot = root;
            inherit metadataHash;
          }
        else
          {
            src = "${src}";
            srcFilename = if builtins.isAttrs src then src.filename or "" else "";
          };
      # the build environment is a derivation of its own: built once per (interpreter, build
      # requirements) and shared by every package with the same ones
      buildEnv = env.mkEnv {
        name = "nixtox-build-env";
        inherit python;
        wheels = buildRequires;
        rewritePytestPlugins = false; # no test runs in it
      };
      drv = pythonLib.pythonDerivation {
        name = "${pname}-${format}";
        inherit python;
        script = "build_dist.py";
        attrs =
          srcAttrs
          // {
            inherit pname format;
            buildEnv = "${buildEnv}";
            configSettingsJson = builtins.toJSON configSettings;
          }
          // (if vcsVersion == null then { } else { vcsVersionJson = builtins.toJSON vcsVersion; });
      };
    in
    if !builtins.isString pname || pname == "" then
      throw "nixtox: buildDist: pname must be a non-empty string, got ${builtins.toJSON pname}"
    else if !builtins.isString format then
      throw "nixtox: buildDist: format of ${pname} must be a string (wheel, sdist, editable), got ${builtins.toJSON format}"
    else if editable && (projectRoot == null || builtins.substring 0 1 root != "/") then
      throw "nixtox: buildDist: an editable build of ${pname} needs projectRoot, an absolute path string, got ${builtins.toJSON projectRoot}"
    else if editable && !builtins.isString metadataHash then
      throw "nixtox: buildDist: an editable build of ${pname} needs metadataHash, the hash of its metadata files, got ${builtins.toJSON metadataHash}"
    else if !editable && src == null then
      throw "nixtox: buildDist: ${pname} (${format}) needs src (a projectSource tree or an sdist file)"
    else if !builtins.isAttrs configSettings then
      throw "nixtox: buildDist: configSettings of ${pname} must be an attrset, got ${builtins.toJSON configSettings}"
    else if vcsVersion != null && !(validVcsVersion vcsVersion) then
      throw "nixtox: buildDist: vcsVersion of ${pname} must be { version = \"1.2\"; env = { NAME = \"value\"; }; pkgInfo = false; }, got ${builtins.toJSON vcsVersion}"
    else
      drv
      // {
        inherit pname format python;
        nixtoxKind = "built-dist";
      };
in
{
  inherit buildDist;
}
