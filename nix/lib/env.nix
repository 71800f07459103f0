# Test environments: a venv-shaped store path with every wheel installed.
{ pythonLib }:
let
  /*
    One wheel installed with pypa/installer for one interpreter and byte-compiled with
    SOURCE_DATE_EPOCH set (checked-hash pycs: valid wherever the files are, identical on every build).
    `$out` holds `site-packages/`, `bin/` (scripts with a placeholder interpreter), `data/`, `headers/`
    and `nix-support/nixtox-layer.json`. Every env of that interpreter that needs the wheel shares it.

    Type: installLayer :: { python :: AttrSet, wheel :: Derivation } -> Derivation

    Example:
      installLayer { inherit python; wheel = fetchDist { filename = "attrs-26.1.0-py3-none-any.whl"; … }; }
      => «derivation /nix/store/…-attrs-26.1.0-py3-none-any-py3.12.drv»
  */
  installLayer =
    { python, wheel }:
    let
      version = builtins.splitVersion python.version;
      pyver = "${builtins.elemAt version 0}.${builtins.elemAt version 1}";
      filename = if builtins.isAttrs wheel then wheel.filename or null else null;
      base =
        if filename != null then
          builtins.substring 0 (builtins.stringLength filename - 4) filename
        else if builtins.isAttrs wheel && wheel ? pname then
          "${wheel.pname}-${wheel.format or "wheel"}"
        else
          "wheel";
    in
    pythonLib.pythonDerivation {
      name = "${base}-py${pyver}";
      inherit python;
      script = "install_layer.py";
      attrs = {
        wheelsJson = pythonLib.distsJson [ wheel ];
      };
    };

  /*
    pytest's assertion-rewritten bytecode for the pytest plugins among some layers (every module of a
    distribution with a `pytest11` entry point, as pytest rewrites them), written once in the layers'
    layout under `$out/site-packages` so that no test run rewrites them again; `mkEnv` links it beside
    the layers' own bytecode. Layers without pytest or without plugins give an empty `site-packages`.
    Its only inputs are the layers: every env with the same dependencies shares it, and an edit of the
    project does not rebuild it.

    Type: pytestBytecode :: { python :: AttrSet, layers :: [ Derivation ] } -> Derivation

    Example:
      pytestBytecode { inherit python; layers = map (wheel: installLayer { inherit python wheel; }) wheels; }
      => «derivation /nix/store/…-pytest-bytecode-py3.12.drv»
  */
  pytestBytecode =
    { python, layers }:
    let
      version = builtins.splitVersion python.version;
      pyver = "${builtins.elemAt version 0}.${builtins.elemAt version 1}";
    in
    pythonLib.pythonDerivation {
      name = "pytest-bytecode-py${pyver}";
      inherit python;
      script = "pytest_bytecode.py";
      attrs = {
        layersJson = builtins.toJSON (map (layer: "${layer}") layers);
      };
    };

  /*
    A venv-shaped store path: `python -m venv --without-pip $out` (bin/python, pyvenv.cfg,
    lib/pythonX.Y/site-packages) holding the files of one `installLayer` per wheel (a symlink forest,
    directory-level links where it can: the wheels were installed and compiled once per interpreter),
    console scripts in $out/bin with
    $out/bin/python as their interpreter. Two wheels writing the same file with different contents is
    an error naming both.
    `$out/nix-support/nixtox-env.json` records the name, the interpreter and the installed
    distributions (name, version), for the run stage's result JSON.

    `wheels` are `fetchDist` results (wheel files) or `buildDist` results (directories with one wheel).
    `projectWheels` (the same kinds) are the ones built from the project's own tree, the package and
    its local dependencies: they change with every edit, so pytest's rewritten bytecode for the plugins
    among `wheels` is a `pytestBytecode` of its own, and the env writes that for plugins among
    `projectWheels` (a project that is a pytest plugin) itself. `rewritePytestPlugins = false` (a build
    environment) skips both.
    `systemSitePackages = true` (tox's `system_site_packages`) lets the env also import what the
    interpreter's own site-packages hold (`include-system-site-packages = true` in pyvenv.cfg, as
    `python -m venv --system-site-packages` writes); the env's own packages come first.

    Type: mkEnv :: { name :: String, python :: AttrSet, wheels :: [ Derivation ],
      projectWheels :: [ Derivation ] ? [ ], systemSitePackages :: Bool ? false,
      rewritePytestPlugins :: Bool ? true } -> Derivation

    Example:
      mkEnv {
        name = "py312";
        python = { executable = "/usr/bin/python3.12"; version = "3.12.1"; fingerprint = "…"; };
        wheels = [ pytestWheel pluggyWheel iniconfigWheel packagingWheel ];
        projectWheels = [ projectWheel ];
      }
      => «derivation /nix/store/…-py312.drv»
  */
  mkEnv =
    {
      name,
      python,
      wheels,
      projectWheels ? [ ],
      systemSitePackages ? false,
      rewritePytestPlugins ? true,
    }:
    let
      layers = map (wheel: installLayer { inherit python wheel; }) wheels;
      projectLayers = map (wheel: installLayer { inherit python wheel; }) projectWheels;
    in
    if !builtins.isString name || name == "" then
      throw "nixtox: mkEnv: name must be a non-empty string, got ${builtins.toJSON name}"
    else if !builtins.isBool systemSitePackages then
      throw "nixtox: mkEnv ${name}: systemSitePackages must be a bool, got ${builtins.toJSON systemSitePackages}"
    else
      pythonLib.pythonDerivation {
        inherit name python;
        script = "mk_env.py";
        attrs = {
          envName = name;
          layersJson = builtins.toJSON (map (layer: "${layer}") (layers ++ projectLayers));
        }
        // (
          if rewritePytestPlugins then
            {
              projectLayersJson = builtins.toJSON (map (layer: "${layer}") projectLayers);
              pytestBytecode = "${pytestBytecode { inherit python layers; }}";
            }
          else
            { }
        )
        # only when set, so every other env keeps its derivation
        // (if systemSitePackages then { systemSitePackages = "1"; } else { });
      }
      // {
        envName = name;
        nixtoxKind = "env";
      };
in
{
  inherit installLayer mkEnv pytestBytecode;
}
