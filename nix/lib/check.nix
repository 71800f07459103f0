# Running an environment's commands inside a derivation: a check (`nix flake check`, `run_in = "nix"`).
{ names }:
let
  # the builder and the tox command semantics it shares with nixtox's host runs
  checks = builtins.path {
    path = ../checks;
    name = "nixtox-checks";
    filter = path: type: baseNameOf path != "__pycache__" && !(names.hasSuffix ".pyc" path);
  };

  phases = [
    "extra_setup_commands"
    "commands_pre"
    "commands"
    "commands_post"
  ];

  checkCommand =
    name: c:
    if !builtins.isAttrs c || !(c ? argv) || !builtins.isList c.argv || c.argv == [ ] then
      throw "nixtox: mkCheck ${name}: every command must be { argv = [ \"prog\" … ]; phase ? \"commands\"; }, got ${builtins.toJSON c}"
    else if !builtins.elem (c.phase or "commands") phases then
      throw "nixtox: mkCheck ${name}: phase must be one of extra_setup_commands, commands_pre, commands, commands_post, got ${builtins.toJSON c.phase}"
    else
      {
        argv = map toString c.argv;
        phase = c.phase or "commands";
        ignoreExitCode = c.ignoreExitCode or false;
        invertExitCode = c.invertExitCode or false;
      };

  /*
    Run an environment's commands inside a derivation, in a writable copy of `src`, with the env's
    bin first on PATH, VIRTUAL_ENV, NIXTOX_ENV_NAME, HOME in the build directory and `setEnv`.
    tox semantics (`checks/tox_commands.py`, the same file nixtox's host runs use): extra_setup_commands
    (a failure ends the check unless `ignoreErrors`), commands_pre, then commands (stopping at the first
    failure unless `ignoreErrors`), then commands_post always; a failing command of pre, main or post
    runs again up to `commandsRetry` more times; a
    `ignoreExitCode` command never fails, an `invertExitCode` one fails on success; a program outside the
    env's bin must match `allowlistExternals` (globs).

    `@projectRoot@` and `@envDir@` in an argument or a `setEnv` value become the copy of `src` and a
    scratch env directory (with `bin` linking to the env's bin), so commands written with
    `{toxinidir}` or `{envdir}` work.

    The output holds `exit-code`, `log` (every command's output) and `result.json` (per command:
    phase, argv, exit code). The derivation fails when a command fails, unless `allowFailure`, in
    which case the output records the failure (nixtox's `run_in = "nix"` reads it).

    `envName` (the tox env name, for NIXTOX_ENV_NAME / TOX_ENV_NAME) defaults to the env's name.

    Type: mkCheck :: { env :: Derivation, src :: Path | Derivation, commands :: [ AttrSet ],
      envName :: String ?, name :: String ?, setEnv :: AttrSet ? { }, changeDir :: String ? "",
      allowlistExternals :: [String] ? [ ], ignoreErrors :: Bool ? false, commandsRetry :: Int ? 0,
      allowFailure :: Bool ? false }
      -> Derivation

    Example:
      mkCheck {
        env = envs.py312;
        src = projectSource { path = ./.; };
        commands = [ { argv = [ "pytest" "-q" "tests" ]; } ];
      }
      => «derivation /nix/store/…-nixtox-check-py312.drv»
  */
  mkCheck =
    {
      env,
      src,
      commands,
      envName ? env.envName or env.name or "env",
      name ? "nixtox-check-${envName}",
      setEnv ? { },
      changeDir ? "",
      allowlistExternals ? [ ],
      ignoreErrors ? false,
      commandsRetry ? 0,
      allowFailure ? false,
    }:
    if !(builtins.isAttrs env && env ? outPath) then
      throw "nixtox: mkCheck: env must be an mkEnv derivation, got ${builtins.typeOf env}"
    else if !builtins.isList commands then
      throw "nixtox: mkCheck ${name}: commands must be a list, got ${builtins.typeOf commands}"
    else if !builtins.isAttrs setEnv then
      throw "nixtox: mkCheck ${name}: setEnv must be an attrset, got ${builtins.typeOf setEnv}"
    else
      derivation {
        name = names.sanitiseName name;
        system = builtins.currentSystem;
        builder = "${env}/bin/python";
        args = [
          "-I"
          "-B"
          "${checks}/run_check.py"
        ];
        PATH = "${env}/bin:/usr/bin:/bin";
        SOURCE_DATE_EPOCH = "315532800";
        LC_ALL = "C.UTF-8";
        PYTHONHASHSEED = "0";
        nixtoxEnv = "${env}";
        nixtoxEnvName = envName;
        src = "${src}";
        commandsJson = builtins.toJSON (map (checkCommand name) commands);
        setEnvJson = builtins.toJSON setEnv;
        inherit changeDir;
        allowlistJson = builtins.toJSON allowlistExternals;
        ignoreErrors = if ignoreErrors then "1" else "";
        allowFailure = if allowFailure then "1" else "";
      }
      # only when set, so a check without retries keeps its derivation
      // (if commandsRetry != 0 then { commandsRetry = toString commandsRetry; } else { })
      // {
        nixtoxKind = "check";
      };
  /*
    tox's command semantics as stdlib-only Python (phases, `-`/`!` prefixes, allowlist_externals,
    process groups, the store read-only for commands): a directory holding `tox_commands.py` and the
    `readonly.py` it uses, what mkCheck's builder and nixtox's host runs use, for any other runner of an
    env's commands (the OCI image kind's entry point).

    Type: toxCommands :: Path
  */
  toxCommands = builtins.path {
    path = ../checks;
    name = "nixtox-tox-commands";
    filter = path: type: builtins.elem (baseNameOf path) [ "tox_commands.py" "readonly.py" ];
  };
in
{
  inherit mkCheck toxCommands;
}
