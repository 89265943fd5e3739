"""Paths, `helm plugin install` as Helm does it, and real Helm 4 (helm-python-sdk) calls.

Helm's Go runtime inside libhelm_c reads the environment once, when the library loads: HELM_PLUGINS
(and XDG_STATE_HOME, which the post-renderer's last-error file uses) must be set before the test
process starts. ``session.py`` prepares them and starts pytest; conftest refuses to run without.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CHART = REPO / "examples" / "chart"
EXAMPLES = REPO / "examples"
PLUGIN_SRC = REPO / "helm-plugin"
BIN = REPO / "target" / "release" / "vaultwire"
SHARED = REPO.parent / "shared"
POSTRENDERER = "vaultwire-post-renderer"  # the postrenderer/v1 plugin's name
RELEASE, NAMESPACE = "portkey", "portkeyai"
MARK = "VAULTWIRE_HELM_TEST_ROOT"


def expand(text: str, env: dict[str, str]) -> str:
    """Helm's os.Expand over $VAR and ${VAR}."""
    import re

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: env.get(m.group(1) or m.group(2), ""), text)


def hook_commands(plugin_dir: Path, event: str, env: dict[str, str]) -> list[list[str]]:
    """The commands Helm runs for a plugin hook, read from plugin.yaml the way Helm reads them:
    apiVersion v1 -> runtimeConfig.platformHooks (command expanded, args as given);
    legacy -> hooks.<event> run through `sh -c`."""
    meta = yaml.safe_load((plugin_dir / "plugin.yaml").read_text())
    if meta.get("apiVersion") == "v1":
        hooks = (meta.get("runtimeConfig") or {}).get("platformHooks") or {}
        return [[expand(h["command"], env), *h.get("args", [])] for h in hooks.get(event, [])]
    hook = (meta.get("hooks") or {}).get(event)
    return [["sh", "-c", hook]] if hook else []


def helm_plugin_install(src: Path, plugins: Path, env: dict[str, str], *, copy: bool = False):
    """`helm plugin install <dir>`: Helm 3 and 4 symlink a local directory into HELM_PLUGINS as
    <basename> (a tarball or git source is copied: ``copy=True``), then run the install hook with
    HELM_PLUGIN_DIR and HELM_PLUGIN_NAME set. Returns the hook's CompletedProcess (or None)."""
    import shutil

    dest = plugins / src.name
    if copy:
        shutil.copytree(src, dest, symlinks=True, ignore=shutil.ignore_patterns("bin"))
    else:
        dest.symlink_to(src.resolve(), target_is_directory=True)
    name = yaml.safe_load((dest / "plugin.yaml").read_text())["name"]
    hook_env = dict(env, HELM_PLUGIN_DIR=str(dest), HELM_PLUGIN_NAME=name, HELM_PLUGINS=str(plugins))
    result = None
    for cmd in hook_commands(dest, "install", hook_env):
        result = subprocess.run(cmd, env=hook_env, capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            break
    return result


def helm4_install(args: list[str], *, chart: Path = CHART, api: str | None = None,
                  post_renderer: str | None = POSTRENDERER, values: dict | None = None) -> dict:
    """`helm install portkey <chart> -n portkeyai --post-renderer <plugin> --post-renderer-args=...`
    through Helm 4's own library. Without ``api`` it is a client dry-run (``release["manifest"]``);
    with ``api`` (a FakeKubeAPI URL) it really installs, hooks disabled, into memory storage, and the
    stored release's hooks come back as ``release["hooks"]`` (the SDK returns hooks only there)."""
    import helm_python as helm
    from helm_python import _native

    opts: dict = {"namespace": NAMESPACE, "dry_run": "none" if api else "client"}
    if api:
        opts.update(disable_hooks=True, disable_openapi_validation=True)
    if post_renderer:
        opts.update(post_renderer=post_renderer, post_renderer_args=args)
    cfg_opts: dict = {"namespace": NAMESPACE, "storage_driver": "memory"}
    if api:
        cfg_opts.update(kube_apiserver=api, kubeconfig_content="apiVersion: v1\nkind: Config\n")
    with helm.Config(**cfg_opts) as cfg, helm.Chart.load(chart) as loaded:
        payload = _native.call_string(
            "helm_install", cfg._raw(), _native.HANDLE(0), loaded._raw(), None, RELEASE,
            None if values is None else json.dumps(values), json.dumps(opts),
        )
        release = json.loads(payload)
        if api:
            release["hooks"] = cfg.get_all(RELEASE).get("hooks", [])
    return release


def sections(manifest: str) -> list[tuple[str, dict]]:
    """Helm's stored manifest as (source file, document) pairs, in order."""
    out = []
    for chunk in manifest.split("\n---\n"):
        chunk = chunk.strip().removeprefix("---").strip()
        if not chunk:
            continue
        first, _, body = chunk.partition("\n")
        assert first.startswith("# Source: "), chunk[:200]
        out.append((first.removeprefix("# Source: "), yaml.safe_load(body)))
    return out


def in_session() -> bool:
    return os.environ.get(MARK) is not None and os.environ.get("HELM_PLUGINS", "").startswith(
        os.environ.get(MARK, "\0")
    )
