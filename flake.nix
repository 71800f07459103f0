# nixtox as a flake: the CLI (built with nixpkgs' Python packaging), a development shell, and the
# Nix library (`lib`) that builds test environments without nixpkgs.
#
#   nix run github:…/nixtox -- run -e py312
#   nixtox.lib.forSystem "x86_64-linux"      the library for pure evaluation (mkEnv, mkShell, mkCheck …)
{
  description = "tox-compatible test environments, built by Nix";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { self, nixpkgs }:
    let
      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "x86_64-darwin"
        "aarch64-darwin"
      ];
      forAllSystems =
        f:
        builtins.listToAttrs (
          map (system: {
            name = system;
            value = f system nixpkgs.legacyPackages.${system};
          }) systems
        );
      project = (builtins.fromTOML (builtins.readFile ./pyproject.toml)).project;

      # what the wheel needs: pyproject.toml, README.md, src/ and nix/ (shipped as nixtox/_nix)
      src = builtins.path {
        path = ./.;
        name = "nixtox-source";
        filter =
          path: type:
          let
            rel = builtins.substring (builtins.stringLength (toString ./.) + 1) (-1) (toString path);
            top = builtins.head (builtins.split "/" rel);
          in
          builtins.elem top [
            "pyproject.toml"
            "README.md"
            "src"
            "nix"
          ]
          && baseNameOf path != "__pycache__";
      };

      nixtoxFor =
        pkgs:
        pkgs.python3Packages.buildPythonApplication {
          pname = project.name;
          inherit (project) version;
          pyproject = true;
          inherit src;
          build-system = [ pkgs.python3Packages.hatchling ];
          dependencies = with pkgs.python3Packages; [
            click
            packaging
            jinja2
            platformdirs
            pluggy
          ];
          pythonImportsCheck = [ "nixtox" ];
          meta = {
            inherit (project) description;
            mainProgram = "nixtox";
          };
        };
    in
    {
      packages = forAllSystems (
        _system: pkgs: rec {
          nixtox = nixtoxFor pkgs;
          default = nixtox;
        }
      );

      apps = forAllSystems (
        system: _pkgs: {
          default = {
            type = "app";
            program = "${self.packages.${system}.default}/bin/nixtox";
          };
        }
      );

      devShells = forAllSystems (
        _system: pkgs: {
          default = pkgs.mkShell {
            packages = [
              (pkgs.python3.withPackages (
                ps: with ps; [
                  click
                  packaging
                  jinja2
                  platformdirs
                  pluggy
                  hatchling
                  pytest
                  hypothesis
                  mypy
                ]
              ))
              pkgs.ruff
              pkgs.uv
            ];
            shellHook = ''
              export PYTHONPATH="$PWD/src''${PYTHONPATH:+:$PYTHONPATH}"
            '';
          };
        }
      );

      overlays.default = final: _prev: { nixtox = nixtoxFor final; };

      # The Nix library: `lib.fetchDist`, `lib.mkEnv`, … with builtins.currentSystem (impure use), and
      # `lib.forSystem "x86_64-linux"` for pure evaluation inside another flake.
      lib = import ./nix { };
    };
}
