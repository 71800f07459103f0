# Fetching wheels and sdists: one fixed-output derivation per file, shared by every environment.
{ names }:
let
  /*
    Fetch one distribution file (wheel or sdist) with Nix's builtin fetcher (no nixpkgs needed).

    The result is the file itself (not a directory). Its store name is the file name when that is a
    valid store name, else a sanitised one; the real file name is always in the `filename` attribute,
    which `mkEnv` and `buildDist` use (pypa/installer parses the wheel's file name).

    Type: fetchDist :: { filename :: String, url :: String, sha256 :: String } -> Derivation

    Example:
      fetchDist {
        filename = "iniconfig-2.0.0-py3-none-any.whl";
        url = "https://files.pythonhosted.org/packages/ef/a6/62565a6e1cf69e10f5727360368e451d4b7f58beeac6173dc9db836a5b46/iniconfig-2.0.0-py3-none-any.whl";
        sha256 = "b6a85871a79d2e3b22d2d1b94ac2824226a63c6b741c88f7ae975f18b6778374";
      }
      => «derivation /nix/store/…-iniconfig-2.0.0-py3-none-any.whl.drv» // { filename = "iniconfig-2.0.0-py3-none-any.whl"; }
  */
  fetchDist =
    {
      filename,
      url,
      sha256,
    }:
    let
      isDist = names.hasSuffix ".whl" filename || names.hasSuffix ".tar.gz" filename || names.hasSuffix ".zip" filename;
    in
    if !builtins.isString filename || filename == "" then
      throw "nixtox: fetchDist: filename must be a non-empty string, got ${builtins.toJSON filename}"
    else if !isDist then
      throw "nixtox: fetchDist: ${builtins.toJSON filename} is neither a wheel (.whl) nor an sdist (.tar.gz, .zip)"
    else if builtins.match "[0-9a-fA-F]{64}|sha256-.*|[0-9a-z]{52}" sha256 == null then
      throw "nixtox: fetchDist: sha256 of ${filename} must be a sha256 hash, got ${builtins.toJSON sha256}"
    else
      import <nix/fetchurl.nix> {
        inherit url;
        ${if names.hasPrefix "sha256-" sha256 then "hash" else "sha256"} = sha256;
        name = names.sanitiseName filename;
      }
      // {
        inherit filename url;
        nixtoxKind = "dist-file";
      };
in
{
  inherit fetchDist;
}
