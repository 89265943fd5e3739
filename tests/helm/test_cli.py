"""Every Helm command the README shows, under real Helm 3.22 and Helm 4.3 CLIs.

Helm 3 runs the binary itself (`--post-renderer vaultwire`, found on PATH); Helm 4 runs the
`vaultwire-post-renderer` plugin. `helm vaultwire` (the command plugin) picks the right one.
`install`/`upgrade --dry-run` need a reachable cluster on Helm 3 (and for `upgrade` on Helm 4): a
Kubernetes API fake on 127.0.0.1 answers (tests/helm/fakeapi.py).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from fakeapi import FakeKubeAPI
from helmenv import (
    CHART, EXAMPLES, NAMESPACE, PLUGIN_SRC, POSTRENDERER, RELEASE, REPO, SYSTEM_PATH, VAULT, Helm,
    by_id, config, documents, dry_run_sections, mode_mark, pod_annotations, renderer_args,
)

MOUNT = config("mount")
WIRED = ("Deployment", "portkey-gateway"), ("Deployment", "portkey-dataservice")
HOOK = ("Job", "portkey-migrate")
CHART_ARGS = [RELEASE, str(CHART), "-n", NAMESPACE]


@pytest.fixture
def api():
    with FakeKubeAPI() as url:
        yield ["--kube-apiserver", url, "--disable-openapi-validation"]


def plugin_copy(helm: Helm) -> Path:
    """helm-plugin/ copied out of the checkout (scripts/ links and all, no bin/), so that a test's
    install hook links its own bin/vaultwire instead of writing into the checkout."""
    import shutil

    copy = helm.home / "src" / "helm-plugin"
    if not copy.exists():
        shutil.copytree(PLUGIN_SRC, copy, symlinks=True, ignore=shutil.ignore_patterns("bin"))
    return copy


def installed(helm: Helm, *names: str) -> Helm:
    """`helm plugin install <helm-plugin>/<name>` for each name; returns helm."""
    for name in names:
        done = helm.install_plugin(plugin_copy(helm) / name)
        assert done.returncode == 0, done.stderr
        assert "vaultwire: using " in done.stdout + done.stderr, "the install hook did not run"
    return helm


def post_renderer(helm: Helm, *args: str) -> list[str]:
    """The README's post-renderer flags: the binary on Helm 3, the plugin on Helm 4."""
    name = "vaultwire" if helm.major == 3 else POSTRENDERER
    if helm.major == 4 and not (helm.plugins / "postrenderer").exists():
        installed(helm, "postrenderer")
    return ["--post-renderer", name, *renderer_args(*args)]


def empty_chart(tmp: Path) -> Path:
    chart = tmp / "nothing"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: nothing\nversion: 0.1.0\n")
    return chart


# --- the binary / the post-renderer plugin ------------------------------------------------------


@pytest.mark.parametrize("mode", ["partial", "mount", "full"])
def test_helm_template_with_the_post_renderer(helm, mode):
    plain = helm.ok("template", *CHART_ARGS)
    out = helm.ok("template", *CHART_ARGS, *post_renderer(helm, "-c", config(mode)))
    docs = by_id(out)
    for w in WIRED:
        assert mode_mark(mode, docs[w]), f"{w} not wired"
    assert not any(k.startswith(VAULT) for k in pod_annotations(docs[("Deployment", "portkey-redis")]))
    # every document stays under its template file, in Helm's order (`--show-only` keeps working)
    files = {(d["kind"], d["metadata"]["name"]): src for src, d in documents(plain)}
    for src, d in documents(out):
        if not src.startswith("vaultwire/"):
            assert src == files[(d["kind"], d["metadata"]["name"])]
    assert "postrenderer.helm.sh/postrender-filename" not in out
    hook = docs[HOOK]
    if helm.major == 4:  # Helm 4 pipes hooks to the post-renderer
        assert mode_mark(mode, hook) or mode == "mount" and pod_annotations(hook)[VAULT + "agent-pre-populate-only"] == "true"
    else:  # Helm 3 never does (helm/helm#7891): the hook comes out as the chart rendered it ...
        assert hook == by_id(plain)[HOOK]
        # ... and reads the chart's Secret, which vaultwire therefore keeps
        assert ("Secret", "portkey-gateway") in docs


def test_helm_template_show_only_keeps_working(helm):
    out = helm.ok("template", *CHART_ARGS, "--show-only", "templates/gateway-deployment.yaml",
                  *post_renderer(helm, "-c", MOUNT))
    (doc,) = [d for _, d in documents(out)]
    assert mode_mark("mount", doc)


def test_helm_install_dry_run_with_the_post_renderer(helm, api):
    out = helm.ok("install", "--dry-run=client", *CHART_ARGS, *api, *post_renderer(helm, "-c", MOUNT))
    hooks, manifest = dry_run_sections(out)
    for w in WIRED:
        assert mode_mark("mount", by_id(manifest)[w])
    job = by_id(hooks)[HOOK]
    wired_hook = pod_annotations(job).get(VAULT + "agent-pre-populate-only") == "true"
    assert wired_hook == (helm.major == 4), "Helm 4 post-renders hooks, Helm 3 does not"


def test_a_failing_post_renderer_fails_helm(helm, tmp_path):
    done = helm.run("template", *CHART_ARGS, *post_renderer(helm, "-m", "bogus"))
    assert done.returncode != 0 and done.stdout == ""
    message = "vaultwire: unknown mode 'bogus': expected partial (A), mount (B) or full (C)"
    if helm.major == 3:  # Helm 3 shows the post-renderer's stderr
        assert message in done.stderr
        return
    # Helm 4 says only that the plugin failed ...
    assert f'plugin "{POSTRENDERER}" exited with error' in done.stderr
    assert "bogus" not in done.stderr
    # ... so the plugin keeps vaultwire's message in the last-error file, private to the user
    state = helm.state / "vaultwire"
    last = state / "last-error"
    assert last.read_text().strip() == message
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert stat.S_IMODE(last.stat().st_mode) == 0o600
    assert [p.name for p in state.iterdir()] == ["last-error"]  # no temporary file left behind
    # a good run clears it, so it never describes an older failure
    helm.ok("template", *CHART_ARGS, *post_renderer(helm, "-c", MOUNT))
    assert not last.exists()


def test_the_last_error_file_never_writes_through_a_planted_symlink(helm4, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    state = helm4.state / "vaultwire"
    state.mkdir(parents=True, mode=0o700)
    state.chmod(0o700)
    (state / "last-error").symlink_to(victim)
    done = helm4.run("template", *CHART_ARGS, *post_renderer(helm4, "-m", "bogus"))
    assert done.returncode != 0
    assert victim.read_text() == "precious\n"
    last = state / "last-error"
    assert not last.is_symlink() and "unknown mode 'bogus'" in last.read_text()


@pytest.mark.parametrize("bad", ["symlink", "open"])
def test_the_last_error_file_is_only_written_in_a_private_directory(helm4, tmp_path, bad):
    """A state directory that is a symlink, or that others may enter, gets no file; the failure
    still fails Helm."""
    state = helm4.state / "vaultwire"
    state.parent.mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o777)
    elsewhere.chmod(0o777)
    if bad == "symlink":
        state.symlink_to(elsewhere)
    else:
        state.mkdir()
        state.chmod(0o755)
    done = helm4.run("template", *CHART_ARGS, *post_renderer(helm4, "-m", "bogus"))
    assert done.returncode != 0
    assert list(elsewhere.iterdir()) == []
    if bad == "open":
        assert list(state.iterdir()) == []


def test_an_empty_chart_renders_and_installs(helm, api, tmp_path):
    chart = empty_chart(tmp_path)
    # full mode: the one that would refuse a stream with nothing to take
    args = post_renderer(helm, "-c", config("full"))
    out = helm.ok("template", "nothing", str(chart), *args)
    assert documents(out) == [] and out.strip() == ""  # Helm 4 drops the plugin's comment-only answer
    dry = helm.ok("install", "--dry-run=client", "nothing", str(chart), *api, *args)
    assert documents(dry_run_sections(dry)[1]) == []


def test_helm4_refuses_a_post_renderer_that_prints_nothing(helm4, tmp_path):
    """Why the plugin never prints nothing: Helm 4 fails the render."""
    plugin = tmp_path / "prints-nothing"
    plugin.mkdir()
    (plugin / "plugin.yaml").write_text(
        "apiVersion: v1\ntype: postrenderer/v1\nname: prints-nothing\nversion: 0.1.0\nruntime: subprocess\n"
        "runtimeConfig:\n  platformCommand:\n    - command: ${HELM_PLUGIN_DIR}/run.sh\n")
    (plugin / "run.sh").write_text("#!/bin/sh\ncat > /dev/null\n")
    (plugin / "run.sh").chmod(0o755)
    assert helm4.install_plugin(plugin).returncode == 0
    done = helm4.run("template", *CHART_ARGS, "--post-renderer", "prints-nothing")
    assert done.returncode != 0
    assert 'post-renderer "prints-nothing" produced empty output' in done.stderr


def test_a_vaultwire_that_cannot_run_fails_helm4(helm4, tmp_path):
    installed(helm4, "postrenderer")
    broken = tmp_path / "vaultwire"
    broken.write_bytes(b"\x7fELF not really\n")
    broken.chmod(0o755)
    done = helm4.run("template", *CHART_ARGS, *post_renderer(helm4, "-c", MOUNT), VAULTWIRE_BIN=str(broken))
    assert done.returncode != 0 and done.stdout == ""
    assert "could not run" in (helm4.state / "vaultwire" / "last-error").read_text()


# --- installing the plugins ---------------------------------------------------------------------


def test_helm4_installs_both_plugins_with_their_hooks(helm4):
    installed(helm4, "postrenderer", "cli")
    listing = helm4.ok("plugin", "list")
    rows = {line.split()[0]: line.split() for line in listing.splitlines()[1:]}
    assert rows[POSTRENDERER][2] == "postrenderer/v1" and rows["vaultwire"][2] == "cli/v1"
    for d in ("postrenderer", "cli"):
        link = helm4.plugins / d / "bin" / "vaultwire"
        assert os.access(link, os.X_OK)


def test_helm3_installs_the_command_plugin_and_cannot_load_the_helm4_one(helm3):
    installed(helm3, "cli")
    assert "vaultwire" in helm3.ok("plugin", "list")
    # the post-renderer plugin is Helm 4's: Helm 3 refuses its plugin.yaml, and once it sits in the
    # plugins directory every Helm 3 command that loads plugins says so (README: keep them apart)
    helm3.install_plugin(plugin_copy(helm3) / "postrenderer")
    listing = helm3.run("plugin", "list")
    assert 'unknown field "apiVersion"' in listing.stderr


def test_the_readme_install_from_the_checkout_builds_with_cargo(helm):
    """`helm plugin install ./helm-plugin/cli` in the checkout, with cargo but no vaultwire on PATH:
    the hook builds (a no-op when target/release is current) and links the checkout's binary."""
    import shutil

    cargo = shutil.which("cargo")
    assert cargo, "cargo is on the test machine's PATH"
    helm.path = f"{Path(cargo).parent}:{SYSTEM_PATH}"
    done = helm.run("plugin", "install", "./helm-plugin/cli", "--debug")
    assert done.returncode == 0, done.stderr
    link = helm.plugins / "cli" / "bin" / "vaultwire"
    assert link.resolve() == (REPO / "target" / "release" / "vaultwire").resolve()
    assert "building from" in done.stdout + done.stderr or "already installed" in done.stdout


def test_a_failing_install_hook_fails_helm_plugin_install(helm, tmp_path):
    """A copy of the plugin outside a checkout, nothing bundled, nothing on PATH."""
    import shutil

    copy = tmp_path / "vaultwire"
    shutil.copytree(PLUGIN_SRC / "cli", copy, symlinks=False, ignore=shutil.ignore_patterns("bin"))
    helm.path = SYSTEM_PATH
    done = helm.install_plugin(copy)
    assert done.returncode != 0
    assert "no vaultwire binary for linux-amd64 here, none on PATH" in done.stderr


# --- helm vaultwire -----------------------------------------------------------------------------


def vaultwire_cmd(helm: Helm, *args: str, stdin: str | None = None, **env: str):
    if not (helm.plugins / "cli").exists():
        installed(helm, "cli", *(["postrenderer"] if helm.major == 4 else []))
    return helm.run("vaultwire", *args, stdin=stdin, **env)


@pytest.mark.parametrize("sub", ["template", "install", "upgrade"])
def test_helm_vaultwire_renders_through_vaultwire(helm, api, sub):
    extra = {"template": [], "install": ["--dry-run=client", *api],
             "upgrade": ["--install", "--dry-run=client", *api]}[sub]
    done = vaultwire_cmd(helm, sub, *CHART_ARGS, *extra, "--", "-c", MOUNT)
    assert done.returncode == 0, done.stderr
    manifest = done.stdout if sub == "template" else dry_run_sections(done.stdout)[1]
    for w in WIRED:
        assert mode_mark("mount", by_id(manifest)[w])
    assert "# Source: portkey-mini/templates/gateway-deployment.yaml" in manifest
    assert list((helm.home / "tmp").iterdir()) == []  # its private directory is gone


def test_helm_vaultwire_shows_vaultwires_message_when_it_fails(helm):
    done = vaultwire_cmd(helm, "template", *CHART_ARGS, "--", "-m", "bogus")
    assert done.returncode != 0 and done.stdout == ""
    assert "vaultwire: unknown mode 'bogus'" in done.stderr
    if helm.major == 4:
        assert "helm vaultwire: the post-renderer failed; vaultwire said:" in done.stderr
    assert list((helm.home / "tmp").iterdir()) == []


def test_helm_vaultwire_keeps_its_last_error_directory_private(helm4, tmp_path):
    """During the run: the directory Helm's plugin writes into is the user's alone."""
    probe = tmp_path / "probe.sh"
    seen = tmp_path / "seen"
    probe.write_text(f'#!/bin/sh\nstat -c "%a %U" "$VAULTWIRE_LAST_ERROR_DIR" > {seen}\nexec {REPO}/target/release/vaultwire "$@"\n')
    probe.chmod(0o755)
    done = vaultwire_cmd(helm4, "template", *CHART_ARGS, "--", "-m", "bogus", VAULTWIRE_BIN=str(probe))
    assert done.returncode != 0
    assert seen.read_text().split()[0] == "700"


def test_helm3_helm_vaultwire_without_a_binary_fails_and_deploys_nothing(helm3):
    """The old wrapper's `die` ran in a subshell: Helm 3 got `--post-renderer ""` and rendered
    without vaultwire, exit 0."""
    installed(helm3, "cli")
    (helm3.plugins / "cli" / "bin" / "vaultwire").unlink()  # the copy's link, not the checkout's
    helm3.path = SYSTEM_PATH
    done = helm3.run("vaultwire", "template", *CHART_ARGS, "--", "-c", MOUNT)
    assert done.returncode != 0
    assert done.stdout == ""
    assert "helm vaultwire: no vaultwire binary" in done.stderr


def test_helm3_helm_vaultwire_with_a_binary_that_does_not_run_fails(helm3, tmp_path):
    broken = tmp_path / "vaultwire"
    broken.write_text("#!/bin/sh\nexit 3\n")
    broken.chmod(0o755)
    done = vaultwire_cmd(helm3, "template", *CHART_ARGS, "--", "-c", MOUNT, VAULTWIRE_BIN=str(broken))
    assert done.returncode != 0 and done.stdout == ""
    assert "does not run" in done.stderr


def test_helm4_helm_vaultwire_without_the_post_renderer_plugin_says_what_to_install(helm4):
    installed(helm4, "cli")
    done = helm4.run("vaultwire", "template", *CHART_ARGS, "--", "-c", MOUNT)
    assert done.returncode == 2 and done.stdout == ""
    assert "helm plugin install" in done.stderr and POSTRENDERER in done.stderr


def test_helm_vaultwire_explain_renders_a_chart_or_reads_stdin(helm):
    chart = vaultwire_cmd(helm, "explain", *CHART_ARGS, "--", "-c", MOUNT)
    assert chart.returncode == 0, chart.stderr
    assert chart.stdout == "" and "portkey-gateway" in chart.stderr and "CLICKHOUSE_PASSWORD" in chart.stderr
    stream = (EXAMPLES / "portkey-mini.helm4-stdin.yaml").read_text()
    piped = vaultwire_cmd(helm, "explain", "--", "-c", MOUNT, stdin=stream)
    assert piped.returncode == 0 and piped.stdout == "" and "CLICKHOUSE_PASSWORD" in piped.stderr


def test_helm_vaultwire_lint(helm):
    ok = vaultwire_cmd(helm, "lint", *CHART_ARGS, "--", "-c", MOUNT)
    assert ok.returncode == 0 and ok.stdout.endswith("helm vaultwire lint: ok\n"), ok.stderr
    bad = vaultwire_cmd(helm, "lint", *CHART_ARGS, "--", "-c", MOUNT, "-k", "NO_SUCH_KEY")
    assert bad.returncode == 1 and "NO_SUCH_KEY" in bad.stderr and "helm vaultwire lint: failed" in bad.stderr
    stream = (EXAMPLES / "portkey-mini.helm4-stdin.yaml").read_text()
    trap = stream.replace("value: production", "value: /vault/secrets/NODE_ENV", 1)
    found = vaultwire_cmd(helm, "lint", stdin=trap)
    assert found.returncode == 1 and "unwritten-file:" in found.stdout


def test_helm_vaultwire_help_and_unknown_commands(helm):
    assert "helm vaultwire template|install|upgrade" in vaultwire_cmd(helm, "--help").stderr
    unknown = vaultwire_cmd(helm, "frobnicate")
    assert unknown.returncode == 2 and "unknown command 'frobnicate'" in unknown.stderr


@pytest.mark.parametrize("version", ["v2.17.0", "v3.9.4", "v3.9", "v5.0.0", "garbage"])
def test_helm_vaultwire_refuses_other_helm_versions(helm4, tmp_path, version):
    """Helm sets HELM_BIN for its plugins, so the script is run as Helm runs it, with a stand-in
    that only answers `version`."""
    import subprocess

    fake = tmp_path / "old-helm"
    fake.write_text(f"#!/bin/sh\necho {version}\n")
    fake.chmod(0o755)
    installed(helm4, "cli")
    cli = helm4.plugins / "cli"
    done = subprocess.run([str(cli / "scripts" / "helm-vaultwire.sh"), "template", *CHART_ARGS],
                          capture_output=True, text=True,
                          env=helm4.env(HELM_BIN=str(fake), HELM_PLUGIN_DIR=str(cli)))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("helm vaultwire: ") and version in done.stderr


# --- Helm 4.3's Wasm runtime --------------------------------------------------------------------


def test_helm4_wasm_runtime_still_loses_the_manifests(helm4):
    """helm/helm#31832 under real Helm 4.3.1: the extism/v1 runtime marshals the stream (a
    *bytes.Buffer) as {}, so the plugin fails naming the bug rather than deploying nothing."""
    import subprocess

    built = subprocess.run(["bash", "wasm/helm-plugin/build.sh"], cwd=REPO, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    assert helm4.install_plugin(REPO / "target" / "helm-wasm-plugin" / "vaultwire-wasm").returncode == 0
    done = helm4.run("template", *CHART_ARGS, "--post-renderer", "vaultwire-wasm",
                     f"--post-renderer-args={Path(MOUNT).read_text()}")
    assert done.returncode != 0 and done.stdout == ""
    assert 'failed to invoke post-renderer plugin "vaultwire-wasm": plugin error: vaultwire: Helm sent the ' \
        "manifests as a JSON object instead of the rendered stream: this is helm/helm#31832" in done.stderr
