"""The post-renderer wrapper (helm-plugin/postrenderer/postrender.sh) on its own: the Helm 3 stream
shape, the last-error file, the terminal, the empty stream."""

from __future__ import annotations

import os
import pty
import subprocess
from pathlib import Path

import pytest

from helmenv import BIN, EXAMPLES, PLUGIN_SRC, SHARED

WRAPPER = PLUGIN_SRC / "postrenderer" / "postrender.sh"
PORTKEY = sorted((SHARED / "fixtures" / "portkey").glob("*.manifest.yaml")) if SHARED.is_dir() else []
PARTIAL = ["-m", "partial", "--secret", "portkey-gateway-env", "-k", "PORTKEY_CLIENT_AUTH", "-k", "REDIS_URL"]


def run(args, stdin: bytes, tmp_path: Path, **env):
    e = dict(os.environ, VAULTWIRE_BIN=str(BIN), XDG_STATE_HOME=str(tmp_path / "state"), **env)
    return subprocess.run(["sh", str(WRAPPER), *args], input=stdin, capture_output=True, env=e, timeout=60)


def sources(stream: bytes) -> list[bytes]:
    return [line for line in stream.splitlines() if line.startswith(b"# Source: ")]


@pytest.mark.skipif(not PORTKEY, reason="../shared/fixtures/portkey is not here (it is in CI)")
@pytest.mark.parametrize("fixture", PORTKEY, ids=lambda p: p.name.removesuffix(".manifest.yaml"))
def test_helm3_source_comments_survive_in_order(fixture, tmp_path):
    """Helm 3 pipes `---\\n# Source: <file>` documents; `helm template --show-only` finds templates
    by those comments after post-rendering, so each must come out, in the same order."""
    stream = fixture.read_bytes()
    result = run(PARTIAL, stream, tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    assert sources(result.stdout) == sources(stream)
    assert result.stdout.count(b"\n---") == stream.count(b"\n---")


def test_helm3_example_manifest_is_wired(tmp_path):
    stream = (EXAMPLES / "portkey-mini.manifest.yaml").read_bytes()
    result = run(["-c", str(EXAMPLES / "vaultwire-mount.yaml")], stream, tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    assert sources(result.stdout) == sources(stream)
    assert b"vault.hashicorp.com/agent-inject" in result.stdout


def test_failure_writes_last_error_and_stderr(tmp_path):
    result = run(["-m", "bogus"], b"kind: ConfigMap\n", tmp_path)
    assert result.returncode == 2 and result.stdout == b""
    line = b"vaultwire: unknown mode 'bogus': expected partial (A), mount (B) or full (C)\n"
    assert result.stderr == line  # Helm 3 and direct runs see it as ever
    assert (tmp_path / "state" / "vaultwire" / "last-error").read_bytes() == line


def test_last_error_path_can_be_chosen(tmp_path):
    target = tmp_path / "mine"
    run(["-m", "bogus"], b"kind: ConfigMap\n", tmp_path, VAULTWIRE_LAST_ERROR=str(target))
    assert target.read_text().startswith("vaultwire: unknown mode")


def test_failure_reaches_the_terminal_even_with_stderr_dropped(tmp_path):
    """Run the wrapper in a session whose controlling terminal is a pty, stderr thrown away (as
    Helm 4 does): the message still reaches the terminal."""
    script = f"echo 'kind: ConfigMap' | sh {WRAPPER} -m bogus 2>/dev/null >/dev/null; printf 'rc=%s' $?"
    pid, fd = pty.fork()
    if pid == 0:  # child: a new session with the pty as its controlling terminal
        os.environ.update(VAULTWIRE_BIN=str(BIN), XDG_STATE_HOME=str(tmp_path / "state"))
        os.execvp("sh", ["sh", "-c", script])
    out = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.waitpid(pid, 0)
    assert b"vaultwire: unknown mode 'bogus'" in out
    assert b"rc=2" in out


@pytest.mark.parametrize("stream", [b"", b"\n", b"  \n\n"])
def test_blank_stream_becomes_a_comment(stream, tmp_path):
    """Helm 4 sends nothing for a chart that renders nothing and refuses empty output: the wrapper
    answers with a YAML comment (zero documents) without running vaultwire, whose full mode would
    refuse a stream that carries no keys."""
    result = run(["-c", str(EXAMPLES / "vaultwire-full.yaml")], stream, tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == b"# vaultwire: the chart rendered no manifests; nothing to wire\n"


def test_missing_binary_is_a_clear_error(tmp_path):
    env = dict(os.environ, PATH="/usr/bin:/bin", HELM_PLUGIN_DIR=str(tmp_path), XDG_STATE_HOME=str(tmp_path))
    env.pop("VAULTWIRE_BIN", None)
    result = subprocess.run(["sh", str(WRAPPER)], input=b"kind: ConfigMap\n", capture_output=True, env=env)
    assert result.returncode == 1
    assert b"vaultwire: binary not found" in (tmp_path / "vaultwire" / "last-error").read_bytes()
