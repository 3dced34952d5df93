"""A Go module proxy in a directory (GOPROXY=file:///...), serving made-up
modules, so that tests of versions and failures need neither the network
nor real modules. The layout is the GOPROXY protocol's
(https://go.dev/ref/mod#goproxy-protocol): MODULE/@v/list, VERSION.info,
VERSION.mod, VERSION.zip with every file under MODULE@VERSION/."""

import json
import zipfile
from pathlib import Path


def _escape(path: str) -> str:
    """Module path escaping: an upper-case letter becomes ! and its lower case."""
    return "".join("!" + c.lower() if c.isupper() else c for c in path)


def write_module(root: Path, path: str, version: str, files: dict) -> None:
    """Adds one version of a module to the proxy at root."""
    files = dict(files)
    files.setdefault("go.mod", f"module {path}\n\ngo 1.24\n")
    vdir = root / _escape(path) / "@v"
    vdir.mkdir(parents=True, exist_ok=True)
    (vdir / f"{version}.info").write_text(json.dumps({"Version": version, "Time": "2026-01-01T00:00:00Z"}))
    (vdir / f"{version}.mod").write_text(files["go.mod"])
    with zipfile.ZipFile(vdir / f"{version}.zip", "w") as z:
        for name, content in sorted(files.items()):
            z.writestr(f"{path}@{version}/{name}", content)
    listed = vdir / "list"
    versions = set(listed.read_text().split()) if listed.exists() else set()
    listed.write_text("\n".join(sorted(versions | {version})) + "\n")


def proxy_env(root: Path) -> dict:
    """The variables that make the go command use only the proxy at root."""
    return {"GOPROXY": f"file://{root}", "GOSUMDB": "off", "GOFLAGS": "-mod=mod"}
