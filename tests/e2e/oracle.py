"""The second oracle: the Vault Agent Injector's own mutation code (vault-k8s, as a Go module
in tests/injector-oracle) runs a pod, and `bao agent` renders the agent config it wrote.

    oracle_binary() -> path            go build once, cached outside the repo by source hash
    mutate(pod, namespace="apps") -> dict
        {"injected", "initContainers", "containers", "agentConfig", "sidecarConfig",
         "annotations", "effectiveAnnotations", "patch", "pod"}: see the header of
         tests/injector-oracle/main.go
    render_with_bao(agent_config, bao_addr, token, root) -> (returncode, log)

Where injector.py reads the annotations by hand, this takes vault-k8s's word for them."""

import copy
import functools
import hashlib
import json
import os
import posixpath
import shutil
import subprocess
import tempfile
from pathlib import Path

import bao_agent

SRC = Path(__file__).resolve().parent.parent / "injector-oracle"
SOURCES = ("go.mod", "go.sum", "main.go")


class OracleError(Exception):
    """The injector refused the pod (its admission error is the message)."""


def cache_dir():
    base = os.environ.get("VAULTWIRE_TOOL_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "vaultwire")
    h = hashlib.sha256()
    for name in SOURCES:
        h.update(name.encode() + b"\0" + (SRC / name).read_bytes() + b"\0")
    return Path(base) / "injector-oracle" / h.hexdigest()[:16]


@functools.lru_cache(maxsize=None)
def oracle_binary():
    """Build tests/injector-oracle once (modules from the Go module proxy, checked against the
    committed go.sum); later calls and later sessions reuse the binary of the same sources."""
    out = cache_dir() / "injector-oracle"
    if out.is_file():
        return str(out)
    go = shutil.which("go")
    assert go, "go is not on PATH: the injector oracle is a Go program (tests/injector-oracle)"
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".build-", dir=out.parent)
    os.close(fd)
    env = dict(os.environ, GOFLAGS="-mod=readonly", CGO_ENABLED="0")
    try:
        p = subprocess.run([go, "build", "-trimpath", "-buildvcs=false", "-o", tmp, "."], cwd=SRC, env=env,
                           capture_output=True, text=True, timeout=1800)
        assert p.returncode == 0, f"go build tests/injector-oracle failed:\n{p.stdout}{p.stderr}"
        os.chmod(tmp, 0o755)
        os.replace(tmp, out)  # atomic: a concurrent build of the same sources is harmless
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return str(out)


def mutate(pod, namespace="apps", vault_address=None):
    """The pod as vault-k8s's webhook would leave it (the service-account token volume that
    Kubernetes adds first is added too). Raises OracleError when the injector refuses it."""
    req = {"pod": pod, "namespace": namespace}
    if vault_address:
        req["vaultAddress"] = vault_address
    p = subprocess.run([oracle_binary()], input=json.dumps(req), capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise OracleError(p.stderr.strip())
    return json.loads(p.stdout)


def _reroot(root, path):
    return root + posixpath.normpath(posixpath.join("/", path))


def local_agent_config(agent_config, bao_addr, token_file, root):
    """The injector's agent config, made to run here once: token_file auto-auth instead of the
    pod's Kubernetes login, the local server, exit_after_auth, every pod path under root. What
    the templates render (contents, error_on_missing_key, delimiters, perms) is kept as is; a
    template's command (run in the pod) and the cache listener (a port) are dropped."""
    assert agent_config, "no agent config: the injector added no such container"
    c = copy.deepcopy(agent_config)
    sinks = [dict(s, config=dict(s.get("config") or {}, path=_reroot(root, s["config"]["path"])))
             for s in (c.get("auto_auth") or {}).get("sink") or [] if s.get("type") == "file"]
    c["auto_auth"] = {"method": {"type": "token_file", "config": {"token_file_path": token_file}}}
    if sinks:
        c["auto_auth"]["sink"] = sinks
    vault = c.get("vault") or {}
    c["vault"] = {"address": bao_addr, "retry": {"num_retries": 1}}
    if "tls_skip_verify" in vault:
        c["vault"]["tls_skip_verify"] = vault["tls_skip_verify"]
    c["exit_after_auth"] = True
    c["pid_file"] = _reroot(root, c.get("pid_file") or "/home/vault/.pid")
    for k in ("listener", "cache", "telemetry"):
        c.pop(k, None)
    dests = []
    for t in c.get("template") or []:
        assert posixpath.isabs(t["destination"]), f"relative template destination {t['destination']!r}"
        t["destination"] = _reroot(root, t["destination"])
        dests.append(t["destination"])
        if t.get("source"):
            t["source"] = _reroot(root, t["source"])
        t.pop("command", None)
    assert len(set(dests)) == len(dests), f"two templates write one file: {dests}"
    return c


def render_with_bao(agent_config, bao_addr, token, root, timeout=60):
    """Run the injector's agent config once with `bao agent` against bao_addr; a template's
    /vault/secrets/x lands at root + /vault/secrets/x. Returns (returncode, log text)."""
    root = os.path.abspath(root)
    token_file = bao_agent.token_file(root, token)
    config = local_agent_config(agent_config, bao_addr, token_file, root)
    for path in [config["pid_file"]] + [s["config"]["path"] for s in config["auto_auth"].get("sink", [])]:
        os.makedirs(os.path.dirname(path), exist_ok=True)
    return bao_agent.run(config, root, timeout)
