# An OCI image of one nixtox env: its runtime closure, the project source and a runner, as one layer.
#
# Type: { lib, env, src, name, tag, envName, changeDir, allowlistExternals, ignoreErrors, setEnv,
#   commands, commandsRetry } -> Derivation (the output is the image archive, a tar file)
{
  lib,
  env,
  src,
  name,
  tag,
  envName,
  changeDir ? "",
  allowlistExternals ? [ ],
  ignoreErrors ? false,
  setEnv ? { },
  commands ? [ ],
  commandsRetry ? 0,
}:
derivation {
  inherit name tag envName changeDir;
  system = builtins.currentSystem;
  builder = "${env}/bin/python";
  args = [
    "-I"
    "-B"
    ./build_oci.py
  ];
  # the closure of the env, written by Nix as `closure` in the build directory
  exportReferencesGraph = [
    "closure"
    env
  ];
  # the builder finds the host libraries a host interpreter needs with ldd
  PATH = "/usr/bin:/bin";
  SOURCE_DATE_EPOCH = "315532800";
  LC_ALL = "C.UTF-8";
  nixtoxEnv = "${env}";
  src = "${src}";
  toxCommands = lib.toxCommands;
  runner = ./run_image.py;
  specJson = builtins.toJSON (
    {
      inherit commands setEnv allowlistExternals ignoreErrors changeDir envName;
    }
    // (if commandsRetry != 0 then { inherit commandsRetry; } else { })
  );
}
