# Store path names and small string helpers.
#
# A store path name may only hold `A-Z a-z 0-9 + - . _ ? =`, must not start with `.` and is at most
# 211 characters long. Wheel and sdist file names can hold other characters (`!` of an epoch, for
# instance), so every derivation name goes through `sanitiseName`, and consumers of a fetched file use
# its real `filename` attribute, never the store path's base name.
let
  /*
    Replace every character a store path name cannot hold by `_`, and a leading `.` by `_`.

    Type: sanitiseName :: String -> String

    Example:
      sanitiseName "pkg-1!2.0-py3-none-any.whl"
      => "pkg-1_2.0-py3-none-any.whl"
  */
  sanitiseName =
    name:
    let
      parts = builtins.split "[^A-Za-z0-9+._?=-]" name;
      replaced = builtins.concatStringsSep "" (map (p: if builtins.isList p then "_" else p) parts);
      noDot = if builtins.substring 0 1 replaced == "." then "_" + builtins.substring 1 (-1) replaced else replaced;
      len = builtins.stringLength noDot;
    in
    if name == "" then
      throw "nixtox: a derivation name must not be empty"
    else if len > 211 then
      builtins.substring (len - 211) 211 noDot
    else
      noDot;

  /*
    Whether `name` is usable unchanged as a store path name.

    Type: isValidStoreName :: String -> Bool

    Example:
      isValidStoreName "pytest-8.3.4-py3-none-any.whl"
      => true
  */
  isValidStoreName = name: name != "" && sanitiseName name == name;

  /*
    Whether `s` ends with `suffix`.

    Type: hasSuffix :: String -> String -> Bool

    Example:
      hasSuffix ".whl" "a-1.0-py3-none-any.whl"
      => true
  */
  hasSuffix =
    suffix: s:
    let
      ls = builtins.stringLength s;
      lx = builtins.stringLength suffix;
    in
    ls >= lx && builtins.substring (ls - lx) lx s == suffix;

  /*
    Whether `s` starts with `prefix`.

    Type: hasPrefix :: String -> String -> Bool

    Example:
      hasPrefix "result" "result-2"
      => true
  */
  hasPrefix = prefix: s: builtins.substring 0 (builtins.stringLength prefix) s == prefix;
in
{
  inherit
    sanitiseName
    isValidStoreName
    hasSuffix
    hasPrefix
    ;
}
