# The interpreter description every builder takes, and the attributes every Python-built derivation
# shares (builder, PATH, SOURCE_DATE_EPOCH, the interpreter's fingerprint).
{ names, tools }:
let
  # The builder scripts, without caches a test run may leave next to them.
  builders = builtins.path {
    path = ../builders;
    name = "nixtox-builders";
    filter = path: type: baseNameOf path != "__pycache__" && !(names.hasSuffix ".pyc" path);
  };

  /*
    Check an interpreter description and return it. `executable` is an absolute path (a plain string
    for a host interpreter, or a string with context such as "${pkgs.python312}/bin/python3.12");
    `fingerprint` identifies the interpreter's bits: a host interpreter's path is invisible to Nix, so
    the fingerprint is what makes an upgrade change every derivation hash.

    Type: checkPython :: { executable :: String, version :: String, fingerprint :: String } -> AttrSet

    Example:
      checkPython { executable = "/usr/bin/python3.11"; version = "3.11.2"; fingerprint = "sha256:…"; }
      => { executable = "/usr/bin/python3.11"; version = "3.11.2"; fingerprint = "sha256:…"; }
  */
  checkPython =
    python:
    let
      shown = builtins.toJSON python;
    in
    if !builtins.isAttrs python then
      throw "nixtox: python must be an attrset { executable, version, fingerprint }, got ${shown}"
    else if !(python ? executable) || !builtins.isString python.executable || builtins.substring 0 1 python.executable != "/" then
      throw "nixtox: python.executable must be an absolute path string, got ${shown}"
    else if !(python ? version) || builtins.match "[0-9]+\\.[0-9]+(\\.[0-9]+.*)?" python.version == null then
      throw "nixtox: python.version must look like \"3.12.1\", got ${shown}"
    else if !(python ? fingerprint) || !builtins.isString python.fingerprint || python.fingerprint == "" then
      throw "nixtox: python.fingerprint must be a non-empty string (it makes an interpreter upgrade change the hash), got ${shown}"
    else
      python;

  /*
    A derivation whose builder is `python.executable` running one of nix/builders/*.py.

    Type: pythonDerivation :: { name, python, script, attrs } -> Derivation

    Example:
      pythonDerivation { name = "env"; inherit python; script = "mk_env.py"; attrs = { wheelsJson = "[]"; }; }
      => «derivation /nix/store/…-env.drv»
  */
  pythonDerivation =
    {
      name,
      python,
      script,
      attrs,
    }:
    let
      py = checkPython python;
    in
    derivation (
      {
        name = names.sanitiseName name;
        system = builtins.currentSystem;
        builder = py.executable;
        # -I: no PYTHONPATH or user site; -B: the builders live read-only in the store
        args = [
          "-I"
          "-B"
          "${builders}/${script}"
        ];
        PATH = "${dirOf py.executable}:/usr/bin:/bin";
        SOURCE_DATE_EPOCH = "315532800";
        LC_ALL = "C.UTF-8";
        PYTHONHASHSEED = "0";
        pythonExecutable = py.executable;
        pythonVersion = py.version;
        pythonFingerprint = py.fingerprint;
        nixtoxToolsPath = tools.pythonPath;
      }
      // attrs
    );

  /*
    Describe wheels (or sdists) for a builder: a JSON list of `{ path, filename }`, where `filename` is
    null for a `buildDist` output (a directory holding one wheel) and the real file name otherwise.

    Type: distsJson :: [ (Derivation | Path | String) ] -> String

    Example:
      distsJson [ (fetchDist { filename = "a-1.0-py3-none-any.whl"; url = "…"; sha256 = "…"; }) ]
      => "[{\"filename\":\"a-1.0-py3-none-any.whl\",\"path\":\"/nix/store/…-a-1.0-py3-none-any.whl\"}]"
  */
  distsJson =
    dists:
    if !builtins.isList dists then
      throw "nixtox: expected a list of wheels (fetchDist or buildDist results), got ${builtins.typeOf dists}"
    else
      builtins.toJSON (
        map (
          d:
          if builtins.isAttrs d && d ? outPath then
            {
              path = "${d}";
              filename = d.filename or null;
            }
          else if builtins.isPath d || builtins.isString d then
            {
              path = "${d}";
              filename = baseNameOf (toString d);
            }
          else
            throw "nixtox: not a wheel (fetchDist or buildDist result, path or string): ${builtins.typeOf d}"
        ) dists
      );
in
{
  inherit
    builders
    checkPython
    pythonDerivation
    distsJson
    ;
}
