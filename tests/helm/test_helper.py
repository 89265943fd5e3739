"""`helm vaultwire` (helm-plugin/cli), run as Helm runs a command plugin. $HELM_BIN is
tests/helm/helm-shim: real Helm 4 rendering through helm-python-sdk behind a tiny `helm` CLI, since
no helm binary is installable here (its Helm 3 mode is an emulation, said so in the shim)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from helmenv import CHART, EXAMPLES, HERE, POSTRENDERER

SHIM = HERE / "helm-shim"
MOUNT = str(EXAMPLES / "vaultwire-mount.yaml")


def helm_vaultwire(plugins: Path, *args, stdin: bytes = b"", version: str | None = None, tmp: Path, **env):
    """Run the plugin's command as Helm does: HELM_BIN, HELM_PLUGIN_DIR, HELM_PLUGINS set."""
    cli = plugins / "cli"
    e = dict(os.environ, HELM_BIN=str(SHIM), HELM_PLUGIN_DIR=str(cli), HELM_PLUGINS=str(plugins),
             HELM_SHIM_LOG=str(tmp / "helm.log"))
    e.update(env)
    if version:
        e["HELM_SHIM_VERSION"] = version
    return subprocess.run([str(cli / "helm-vaultwire.sh"), *args], input=stdin, capture_output=True,
                          env=e, timeout=120)


def helm_calls(tmp: Path) -> list[list[str]]:
    return [json.loads(line) for line in (tmp / "helm.log").read_text().splitlines()]


def test_template_on_helm4_names_the_plugin(plugins, tmp_path):
    r = helm_vaultwire(plugins, "template", "portkey", str(CHART), "-n", "portkeyai", "--", "-c", MOUNT, tmp=tmp_path)
    assert r.returncode == 0, r.stderr.decode()
    assert b"vault.hashicorp.com/agent-inject-file-portkey_client_auth: PORTKEY_CLIENT_AUTH" in r.stdout
    assert b"# Source: portkey-mini/templates/gateway-deployment.yaml" in r.stdout
    assert helm_calls(tmp_path)[-1] == [
        "template", "portkey", str(CHART), "-n", "portkeyai",
        "--post-renderer-args=-c", f"--post-renderer-args={MOUNT}", "--post-renderer", POSTRENDERER,
    ]


@pytest.mark.parametrize("sub", ["install", "upgrade"])
def test_install_and_upgrade_get_the_same_flags(plugins, tmp_path, sub):
    r = helm_vaultwire(plugins, sub, "portkey", str(CHART), "--", "-c", MOUNT, tmp=tmp_path)
    assert r.returncode == 0, r.stderr.decode()
    assert helm_calls(tmp_path)[-1][0] == sub and helm_calls(tmp_path)[-1][-2:] == ["--post-renderer", POSTRENDERER]


def test_helm4_failure_shows_vaultwires_message(plugins, tmp_path):
    r = helm_vaultwire(plugins, "template", "portkey", str(CHART), "--", "-m", "bogus", tmp=tmp_path)
    assert r.returncode != 0
    err = r.stderr.decode()
    assert f'plugin "{POSTRENDERER}" exited with error' in err  # all Helm 4 says
    assert "vaultwire: unknown mode 'bogus'" in err  # what the helper adds


def test_template_on_helm3_passes_the_binary_path(plugins, tmp_path):
    r = helm_vaultwire(plugins, "template", "portkey", str(CHART), "--", "-c", MOUNT, version="v3.16.2", tmp=tmp_path)
    assert r.returncode == 0, r.stderr.decode()
    call = helm_calls(tmp_path)[-1]
    assert call[-2] == "--post-renderer" and call[-1] == str(plugins / "cli" / "bin" / "vaultwire")
    assert b"agent-inject-file-portkey_client_auth" in r.stdout
    assert r.stdout.count(b"# Source: ") >= 6


@pytest.mark.parametrize("version", ["v2.17.0", "v3.9.4", "v5.0.0", "garbage"])
def test_other_helm_versions_are_refused(plugins, tmp_path, version):
    r = helm_vaultwire(plugins, "template", "portkey", str(CHART), version=version, tmp=tmp_path)
    assert r.returncode == 2
    assert r.stderr.decode().startswith("helm vaultwire: ")
    assert version in r.stderr.decode()


def test_helm4_without_the_postrenderer_plugin_says_what_to_install(plugins, tmp_path):
    r = helm_vaultwire(plugins, "template", "portkey", str(CHART), tmp=tmp_path, HELM_PLUGINS=str(tmp_path))
    assert r.returncode == 2
    assert b"helm plugin install" in r.stderr and POSTRENDERER.encode() in r.stderr


def test_explain_reads_a_stream_on_stdin(plugins, tmp_path):
    stream = (EXAMPLES / "portkey-mini.helm4-stdin.yaml").read_bytes()
    r = helm_vaultwire(plugins, "explain", "--", "-c", MOUNT, stdin=stream, tmp=tmp_path)
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == b""  # the explanation, not the stream
    assert b"CLICKHOUSE_PASSWORD" in r.stderr


def test_explain_renders_a_chart(plugins, tmp_path):
    r = helm_vaultwire(plugins, "explain", "portkey", str(CHART), "--", "-c", MOUNT, tmp=tmp_path)
    assert r.returncode == 0, r.stderr.decode()
    assert b"portkey-gateway" in r.stderr
    assert helm_calls(tmp_path)[-1] == ["template", "portkey", str(CHART)]


def test_lint_ok_and_lint_failing_on_a_warning(plugins, tmp_path):
    stream = (EXAMPLES / "portkey-mini.helm4-stdin.yaml").read_bytes()
    ok = helm_vaultwire(plugins, "lint", "--", "-c", MOUNT, stdin=stream, tmp=tmp_path)
    assert ok.returncode == 0 and ok.stdout == b"helm vaultwire lint: ok\n", ok.stderr.decode()
    bad = helm_vaultwire(plugins, "lint", "--", "-c", MOUNT, "-k", "NO_SUCH_KEY", stdin=stream, tmp=tmp_path)
    assert bad.returncode == 1
    assert b"NO_SUCH_KEY" in bad.stderr and b"helm vaultwire lint: failed" in bad.stderr
    # a finding of vaultwire lint: an env path that no injector annotation writes
    trap = stream.replace(b"value: production", b"value: /vault/secrets/NODE_ENV", 1)
    found = helm_vaultwire(plugins, "lint", stdin=trap, tmp=tmp_path)
    assert found.returncode == 1
    assert b"unwritten-file:" in found.stdout and b"env 'NODE_ENV'" in found.stdout, found.stdout.decode()


def test_unknown_command_and_help(plugins, tmp_path):
    assert helm_vaultwire(plugins, "frobnicate", tmp=tmp_path).returncode == 2
    h = helm_vaultwire(plugins, "--help", tmp=tmp_path)
    assert b"helm vaultwire template|install|upgrade" in h.stderr
