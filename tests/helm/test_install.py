"""Installing the plugins: the manifests Helm reads, and the install hook's steps."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import yaml

from helmenv import BIN, CHART, EXAMPLES, HERE, PLUGIN_SRC, POSTRENDERER, helm_plugin_install

BASE_PATH = "/usr/bin:/bin"  # no vaultwire, no cargo


def test_postrenderer_manifest_is_a_helm4_postrenderer():
    meta = yaml.safe_load((PLUGIN_SRC / "postrenderer" / "plugin.yaml").read_text())
    assert (meta["apiVersion"], meta["type"], meta["runtime"], meta["name"]) == (
        "v1", "postrenderer/v1", "subprocess", POSTRENDERER)
    assert "config" not in meta  # Helm 4 rejects any config for postrenderer/v1
    assert meta["runtimeConfig"]["platformCommand"] == [{"command": "${HELM_PLUGIN_DIR}/postrender.sh"}]


def test_cli_manifest_is_legacy_so_helm3_and_helm4_load_it():
    meta = yaml.safe_load((PLUGIN_SRC / "cli" / "plugin.yaml").read_text())
    assert "apiVersion" not in meta and meta["name"] == "vaultwire"


def test_both_plugins_ship_the_same_install_script():
    assert (PLUGIN_SRC / "cli" / "install.sh").read_bytes() == (PLUGIN_SRC / "postrenderer" / "install.sh").read_bytes()


def test_fresh_install_links_vaultwire_from_path_and_renders_with_real_helm4(tmp_path):
    """A copied install (as from a tarball) into a fresh HELM_PLUGINS; vaultwire on PATH. Then a new
    process with that HELM_PLUGINS renders the chart through it with real Helm 4."""
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    env = dict(os.environ, PATH=f"{BIN.parent}:{BASE_PATH}")
    first = helm_plugin_install(PLUGIN_SRC / "postrenderer", plugins, env, copy=True)
    assert first.returncode == 0, first.stderr
    assert f"using {BIN}" in first.stdout
    assert (plugins / "postrenderer" / "bin" / "vaultwire").resolve() == BIN.resolve()
    hook = [str(plugins / "postrenderer" / "install.sh")]
    again = subprocess.run(hook, env=dict(env, HELM_PLUGIN_DIR=str(plugins / "postrenderer")),
                           capture_output=True, text=True)
    assert again.returncode == 0 and "already installed" in again.stdout

    render = textwrap.dedent(f"""\
        import sys; sys.path.insert(0, {str(HERE)!r})
        import helmenv
        r = helmenv.helm4_install(["-c", {str(EXAMPLES / 'vaultwire-mount.yaml')!r}], chart=helmenv.CHART)
        assert "agent-inject-file-portkey_client_auth" in r["manifest"]
        print("rendered")
    """)
    env = dict(os.environ, HELM_PLUGINS=str(plugins), XDG_STATE_HOME=str(tmp_path / "state"))
    done = subprocess.run([sys.executable, "-c", render], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "rendered" in done.stdout, done.stderr


def fake_checkout(tmp_path: Path) -> Path:
    """A vaultwire checkout with the plugin inside, and a `cargo` that "builds" by copying the real
    binary and logs each call (the real build already ran before these tests)."""
    repo = tmp_path / "repo"
    (repo / "helm-plugin").mkdir(parents=True)
    (repo / "Cargo.toml").write_text('[package]\nname = "vaultwire"\n')
    tools = tmp_path / "tools"
    tools.mkdir()
    cargo = tools / "cargo"
    cargo.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path}/cargo.log\n'
                     f'mkdir -p target/release && cp {BIN} target/release/vaultwire\n')
    cargo.chmod(0o755)
    return repo


def test_install_builds_from_the_checkout_once(tmp_path):
    repo = fake_checkout(tmp_path)
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    import shutil
    shutil.copytree(PLUGIN_SRC / "cli", repo / "helm-plugin" / "cli", ignore=shutil.ignore_patterns("bin"))
    env = dict(os.environ, PATH=f"{tmp_path}/tools:{BASE_PATH}")
    first = helm_plugin_install(repo / "helm-plugin" / "cli", plugins, env)  # symlink, as Helm does
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "cargo.log").read_text() == "build --release\n"
    assert (plugins / "cli" / "bin" / "vaultwire").resolve() == (repo / "target/release/vaultwire").resolve()
    hook_env = dict(env, HELM_PLUGIN_DIR=str(plugins / "cli"))
    again = subprocess.run(["sh", "-c", "$HELM_PLUGIN_DIR/install.sh"], env=hook_env, capture_output=True, text=True)
    assert "already installed" in again.stdout
    assert (tmp_path / "cargo.log").read_text() == "build --release\n"  # not built twice
    update = subprocess.run(["sh", "-c", "$HELM_PLUGIN_DIR/install.sh --update"], env=hook_env, capture_output=True, text=True)
    assert update.returncode == 0 and (tmp_path / "cargo.log").read_text().count("build") == 2


def test_install_with_nothing_to_use_says_what_to_do(tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    r = helm_plugin_install(PLUGIN_SRC / "postrenderer", plugins, dict(os.environ, PATH=BASE_PATH), copy=True)
    assert r.returncode == 1
    assert "no vaultwire binary found" in r.stderr
    assert "cargo build --release" in r.stderr and "install.sh" in r.stderr
    assert not (plugins / "postrenderer" / "bin" / "vaultwire").exists()
