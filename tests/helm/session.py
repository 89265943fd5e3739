#!/usr/bin/env python3
"""Start pytest for tests/helm with a fresh HELM_PLUGINS holding vaultwire's two plugins.

Installs helm-plugin/postrenderer and helm-plugin/cli exactly as `helm plugin install <dir>` does
(symlink + install hook), adds a tiny plugin that prints nothing (to show Helm 4's empty-output
rule), then runs pytest in a child whose environment has HELM_PLUGINS and XDG_STATE_HOME set before
Helm's Go runtime loads. Usage: python3 tests/helm/session.py [pytest args]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import helmenv  # noqa: E402

EMPTY_PLUGIN = """\
apiVersion: v1
type: postrenderer/v1
name: prints-nothing
version: 0.1.0
runtime: subprocess
runtimeConfig:
  platformCommand:
    - command: ${HELM_PLUGIN_DIR}/run.sh
"""


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="vaultwire-helm-test-"))
    try:
        plugins = root / "plugins"
        plugins.mkdir()
        env = dict(os.environ)
        env["PATH"] = f"{helmenv.BIN.parent}{os.pathsep}{env['PATH']}"
        for name in ("postrenderer", "cli"):
            hook = helmenv.helm_plugin_install(helmenv.PLUGIN_SRC / name, plugins, env)
            if hook is None or hook.returncode != 0:
                print(f"install hook of helm-plugin/{name} failed:\n{hook and hook.stderr}", file=sys.stderr)
                return 1
        empty = plugins / "prints-nothing"
        empty.mkdir()
        (empty / "plugin.yaml").write_text(EMPTY_PLUGIN)
        (empty / "run.sh").write_text("#!/bin/sh\ncat > /dev/null\n")
        (empty / "run.sh").chmod(0o755)
        child = dict(
            env,
            HELM_PLUGINS=str(plugins),
            XDG_STATE_HOME=str(root / "state"),
            HELM_CACHE_HOME=str(root / "helm-cache"),
            HELM_CONFIG_HOME=str(root / "helm-config"),
            HELM_DATA_HOME=str(root / "helm-data"),
            **{helmenv.MARK: str(root)},
        )
        return subprocess.call([sys.executable, "-m", "pytest", *sys.argv[1:]], env=child)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
