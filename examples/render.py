#!/usr/bin/env python3
"""Render the portkey-mini example chart with real Helm 4 and write the example streams.

Run from anywhere (needs only Python 3.10+ and the PyPI wheel that bundles Helm 4's Go SDK):

    pip install helm-python-sdk
    python3 examples/render.py

It writes, next to this file:

- ``portkey-mini.helm4-stdin.yaml``: exactly what Helm 4 pipes into a ``--post-renderer`` (each document
  annotated ``postrenderer.helm.sh/postrender-filename``, hooks included), captured by a ``postrenderer/v1``
  subprocess plugin that copies its stdin to a file and to stdout unchanged;
- ``portkey-mini.manifest.yaml``: the release manifest as Helm stores it (``---`` and ``# Source: <file>``
  before each document, hooks left out), taken from the release that the install returns;
- ``portkey-mini-configmap.helm4-stdin.yaml``: the post-renderer stream with ``environment.secret=false``.

The render is ``helm install portkey examples/chart --namespace portkeyai --dry-run=client
--post-renderer capture``: release ``portkey``, namespace ``portkeyai``; no cluster is contacted.

Helm finds post-renderer plugins in the directory named by ``HELM_PLUGINS``, which the Go runtime inside the
library reads once when it is loaded. So the script makes a temporary plugin directory and, unless
``HELM_PLUGINS`` already names it, re-executes itself with it set before importing the library.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHART = HERE / "chart"
RELEASE = "portkey"
NAMESPACE = "portkeyai"
PLUGIN = "capture"
MARKER = "VAULTWIRE_RENDER_PLUGINS"

PLUGIN_YAML = f"""\
apiVersion: v1
type: postrenderer/v1
name: {PLUGIN}
version: 0.1.0
runtime: subprocess
runtimeConfig:
  platformCommand:
  - command: ${{HELM_PLUGIN_DIR}}/capture.sh
"""

# Helm appends post_renderer_args to the command: $1 is the file that receives a copy of stdin.
CAPTURE_SH = """\
#!/bin/sh
set -eu
tee "$1"
"""

# (output file, `--set` expression given on top of the chart's values.yaml, or None)
RENDERS = [
    ("portkey-mini.helm4-stdin.yaml", None),
    ("portkey-mini-configmap.helm4-stdin.yaml", "environment.secret=false"),
]
MANIFEST = "portkey-mini.manifest.yaml"


def make_plugins_dir() -> Path:
    root = Path(tempfile.mkdtemp(prefix="vaultwire-helm-plugins-"))
    plugin = root / PLUGIN
    plugin.mkdir()
    (plugin / "plugin.yaml").write_text(PLUGIN_YAML)
    script = plugin / "capture.sh"
    script.write_text(CAPTURE_SH)
    script.chmod(0o755)
    return root


def reexec_with_plugins() -> int:
    """Run this script again in a child with HELM_PLUGINS set; clean the temp dir afterwards."""
    import subprocess

    plugins = make_plugins_dir()
    try:
        env = dict(os.environ, HELM_PLUGINS=str(plugins), **{MARKER: str(plugins)})
        return subprocess.call([sys.executable, str(Path(__file__).resolve()), *sys.argv[1:]], env=env)
    finally:
        shutil.rmtree(plugins, ignore_errors=True)


def install(helm, values: dict | None, capture_to: Path) -> dict:
    """`helm install --dry-run=client --post-renderer capture`, through the SDK's C ABI.

    ``Config.install`` of helm-python-sdk 0.2.2 does not expose the post-renderer options that
    libhelm_c's ``helm_install`` accepts, so this calls the native function with the same arguments
    ``Config.install`` passes, plus ``post_renderer`` and ``post_renderer_args``.
    """
    from helm_python import _native

    opts = {
        "namespace": NAMESPACE,
        "dry_run": "client",
        "post_renderer": PLUGIN,
        "post_renderer_args": [str(capture_to)],
    }
    with helm.Config(namespace=NAMESPACE, storage_driver="memory") as cfg, helm.Chart.load(CHART) as chart:
        payload = _native.call_string(
            "helm_install",
            cfg._raw(),
            _native.HANDLE(0),  # no cancellation context
            chart._raw(),
            None,  # chart reference: unused, the chart is given as a handle
            RELEASE,
            None if values is None else json.dumps(values),
            json.dumps(opts),
        )
    return json.loads(payload)


def main() -> int:
    if os.environ.get(MARKER) != os.environ.get("HELM_PLUGINS") or MARKER not in os.environ:
        return reexec_with_plugins()

    import helm_python as helm

    print(f"Helm SDK {helm.helm_sdk_version()} (libhelm_c {helm.helm_c_version()}, helm-python-sdk {helm.__version__})")
    for name, set_expr in RENDERS:
        values = None if set_expr is None else helm.parse_set_string(set_expr)
        out = HERE / name
        with tempfile.TemporaryDirectory(prefix="vaultwire-capture-") as tmp:
            captured = Path(tmp) / "stdin.yaml"
            release = install(helm, values, captured)
            if not captured.exists():
                raise SystemExit(f"the post-renderer plugin did not run for {name}")
            out.write_bytes(captured.read_bytes())
        print(f"wrote {out.relative_to(HERE.parent)}")
        if set_expr is None:
            manifest = release["manifest"]
            (HERE / MANIFEST).write_text(manifest)
            print(f"wrote {(HERE / MANIFEST).relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
