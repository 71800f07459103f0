# Test environments: a venv-shaped store path with every wheel installed.
{ pythonLib }:
let
  /*
    A venv-shaped store path: `python -m venv --without-pip $out` (bin/python, pyvenv.cfg,
    lib/pythonX.Y/site-packages), every wheel installed with pypa/installer, console scripts in
    $out/bin with $out/bin/python as their interpreter, and bytecode compiled with SOURCE_DATE_EPOCH
    set (checked-hash pycs: valid when imported and identical on every build, so `nix-build --check`
    passes). Two wheels writing the same file is an error naming both.
    `$out/nix-support/nixtox-env.json` records the name, the interpreter and the installed
    distributions (name, version), for the run stage's result JSON.

    `wheels` are `fetchDist` results (wheel files) or `buildDist` results (directories with one wheel).

    Type: mkEnv :: { name :: String, python :: AttrSet, wheels :: [ Derivation ] } -> Derivation

    Example:
      mkEnv {
        name = "py312";
        python = { executable = "/usr/bin/python3.12"; version = "3.12.1"; fingerprint = "…"; };
        wheels = [ projectWheel pytestWheel pluggyWheel iniconfigWheel packagingWheel ];
      }
      => «derivation /nix/store/…-py312.drv»
  */
  mkEnv =
    {
      name,
      python,
      wheels,
    }:
    if !builtins.isString name || name == "" then
      throw "nixtox: mkEnv: name must be a non-empty string, got ${builtins.toJSON name}"
    else
      pythonLib.pythonDerivation {
        inherit name python;
        script = "mk_env.py";
        attrs = {
          envName = name;
          wheelsJson = pythonLib.distsJson wheels;
        };
      }
      // {
        envName = name;
        nixtoxKind = "env";
      };
in
{
  inherit mkEnv;
}
