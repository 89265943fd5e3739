"""Real Helm CLIs in a sandbox of their own, and what the tests read back from them.

Each ``Helm`` has its own HELM_DATA_HOME, HELM_PLUGINS (= DATA/plugins: `helm plugin install` writes
under HELM_DATA_HOME whatever HELM_PLUGINS says, so the two must agree), HELM_CONFIG_HOME,
HELM_CACHE_HOME and XDG_STATE_HOME under a temp dir, and a PATH the test chooses. The binaries come
from tests/tools/helm.sh (run.sh passes them in VAULTWIRE_HELM3 and VAULTWIRE_HELM4).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CHART = REPO / "examples" / "chart"
EXAMPLES = REPO / "examples"
PLUGIN_SRC = REPO / "helm-plugin"
BIN = REPO / "target" / "release" / "vaultwire"
DIST = REPO / "target" / "dist"
SHARED = REPO.parent / "shared"
POSTRENDERER = "vaultwire-post-renderer"  # the postrenderer/v1 plugin's name
RELEASE, NAMESPACE = "portkey", "portkeyai"
SYSTEM_PATH = "/usr/bin:/bin"  # neither vaultwire nor cargo
VAULT = "vault.hashicorp.com/"


def config(mode: str) -> str:
    return str(EXAMPLES / f"vaultwire-{mode}.yaml")


def renderer_args(*args: str) -> list[str]:
    """vaultwire's args as Helm's --post-renderer-args, in the `=` form (they start with -)."""
    return [f"--post-renderer-args={a}" for a in args]


@dataclass
class Helm:
    binary: Path
    home: Path
    path: str = f"{BIN.parent}:{SYSTEM_PATH}"
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def major(self) -> int:
        return 3 if "helm-v3." in str(self.binary) else 4

    @property
    def plugins(self) -> Path:
        return self.home / "data" / "plugins"

    @property
    def state(self) -> Path:
        return self.home / "state"

    def env(self, **extra: str) -> dict[str, str]:
        e = {
            "HOME": str(self.home),
            "PATH": self.path,
            "HELM_DATA_HOME": str(self.home / "data"),
            "HELM_PLUGINS": str(self.plugins),
            "HELM_CONFIG_HOME": str(self.home / "config"),
            "HELM_CACHE_HOME": str(self.home / "cache"),
            "XDG_STATE_HOME": str(self.state),
            "TMPDIR": str(self.home / "tmp"),
        }
        (self.home / "tmp").mkdir(parents=True, exist_ok=True)
        e.update(self.extra_env)
        e.update(extra)
        return e

    def run(self, *args: str, stdin: str | None = None, timeout: int = 300, **env: str):
        return subprocess.run([str(self.binary), *args], input=stdin, capture_output=True, text=True,
                              env=self.env(**env), timeout=timeout, cwd=REPO)

    def ok(self, *args: str, **kw) -> str:
        done = self.run(*args, **kw)
        assert done.returncode == 0, f"helm {' '.join(args)} exited {done.returncode}:\n{done.stderr}"
        return done.stdout

    def install_plugin(self, source: Path | str, *flags: str):
        return self.run("plugin", "install", str(source), *flags)


def documents(stream: str) -> list[tuple[str, dict]]:
    """(template file, document) for every document of a `helm template` or dry-run output, hooks
    included; the file is the `# Source:` comment Helm writes before each."""
    out = []
    for chunk in stream.split("\n---\n"):
        chunk = chunk.strip().removeprefix("---").strip()
        if not chunk.startswith("# Source: "):
            continue
        first, _, body = chunk.partition("\n")
        doc = yaml.safe_load(body)
        if doc:
            out.append((first.removeprefix("# Source: "), doc))
    return out


def by_id(stream: str) -> dict[tuple[str, str], dict]:
    return {(d["kind"], d["metadata"]["name"]): d for _, d in documents(stream)}


def dry_run_sections(stdout: str) -> tuple[str, str]:
    """`helm install --dry-run` prints HOOKS: then MANIFEST:; returns (hooks, manifest)."""
    assert "MANIFEST:" in stdout, stdout[:2000]
    head, _, manifest = stdout.partition("MANIFEST:")
    hooks = head.partition("HOOKS:")[2]
    return hooks, manifest


def env_of(doc: dict) -> dict[str, object]:
    spec = doc["spec"]["template"]["spec"]
    return {e["name"]: e.get("value", e.get("valueFrom")) for c in spec["containers"] for e in c.get("env", [])}


def pod_annotations(doc: dict) -> dict[str, str]:
    return doc["spec"]["template"]["metadata"].get("annotations") or {}


def mode_mark(mode: str, doc: dict) -> bool:
    """Whether a pod template shows vaultwire's rewrite for the example configs."""
    env = env_of(doc)
    if mode == "mount":
        return any(isinstance(v, str) and v.startswith("/vault/secrets/") for v in env.values()) and \
            pod_annotations(doc).get(VAULT + "agent-inject") == "true"
    synced = [v for v in env.values() if isinstance(v, dict) and v.get("secretKeyRef", {}).get("name") == "portkey-gateway-env"]
    return bool(synced)
