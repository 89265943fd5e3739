"""vaultwire check against the same OpenBao: passes, a missing key, a denied path. Then where the
token goes, against small recording servers on 127.0.0.1: redirects within the configured
origin are followed, to another origin never; plain http to a host that is not loopback warns."""

import json
import os
import re
import secrets
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import BIN, OTHER_KEYS, OTHER_PATH, PORTKEY, ROOT_TOKEN, vaultwire
from proofs import no_leak

FIXTURE = PORTKEY / "gateway-1.7.7-main--base.helm4-stdin.yaml"
KEYS = ["PORTKEY_CLIENT_AUTH", "ANALYTICS_STORE_USER", "ANALYTICS_STORE_PASSWORD", "REDIS_URL"]
K = [a for k in KEYS for a in ("-k", k)]
MOUNT = ["-m", "mount", "--role", "portkey-gateway", "--vault-path", "kv/data/portkey/gateway/config"]

portkey = pytest.mark.skipif(not FIXTURE.is_file(), reason=f"{FIXTURE} does not exist (CI always has ../shared)")


def wire(args):
    p = vaultwire(*args, stdin=FIXTURE.read_text())
    assert p.returncode == 0, p.stderr
    return p.stdout


def check(bao, stream, *args, token=ROOT_TOKEN):
    p = vaultwire("check", "--vault-addr", bao.addr, "--token", token, *args, stdin=stream)
    no_leak(p.stdout + p.stderr, bao, "vaultwire check")
    lines = [line for line in p.stdout.splitlines() if line.strip()]
    return p, lines


@portkey
def test_check_passes_on_mount_output(bao):
    p, lines = check(bao, wire([*MOUNT, *K]))
    assert p.returncode == 0, p.stdout + p.stderr
    assert len(lines) == 8 and all(line.startswith("ok ") for line in lines), lines  # 4 keys x 2 pods
    for k in KEYS:
        assert any(f"key {k}" in line for line in lines)


@portkey
def test_check_passes_on_partial_eso_output(bao):
    out = wire(["-m", "partial", "--secret", "portkey-gateway-env", "--eso", "--eso-create-store", "--role",
                "portkey-gateway", "--vault-addr", bao.addr, "--vault-path", "kv/data/portkey/gateway/config", *K])
    p, lines = check(bao, out)
    assert p.returncode == 0, p.stdout + p.stderr
    assert lines and all(line.startswith("ok ") for line in lines), lines
    assert all("ExternalSecret" in line for line in lines)


@portkey
def test_check_wires_first_with_a_mode(bao):
    p, lines = check(bao, FIXTURE.read_text(), *MOUNT, *K)
    assert p.returncode == 0, p.stdout + p.stderr
    assert len(lines) == 8 and all(line.startswith("ok ") for line in lines), lines


@portkey
def test_check_fails_on_a_key_vault_lacks(bao):
    lacking = sorted(set(KEYS) - set(bao.data[OTHER_PATH]))
    assert lacking and set(OTHER_KEYS) < set(KEYS)
    other = ["-m", "mount", "--role", "portkey-gateway", "--vault-path", "kv/data/other/config", *K]
    p, lines = check(bao, FIXTURE.read_text(), *other)
    assert p.returncode == 1, p.stdout + p.stderr
    fails = [line for line in lines if line.startswith("FAIL")]
    assert all("kv/data/other/config" in line and "no such key" in line for line in fails), fails
    named = sorted({k for k in KEYS for line in fails if f"key {k}:" in line})
    assert named == lacking, fails
    assert len(fails) == 2 * len(lacking), fails  # gateway and dataservice pods
    assert all(line.startswith("ok ") for line in lines if line not in fails)


@portkey
def test_check_fails_on_a_denied_path(bao):
    policy = 'path "kv/data/portkey/gateway/config" {\n  capabilities = ["read"]\n}\n'
    bao.cli("policy", "write", "portkey-gateway-only", "-", input=policy)
    token = bao.cli("token", "create", "-policy=portkey-gateway-only", "-field=token").strip()
    assert re.fullmatch(r"[A-Za-z0-9._-]+", token)
    # the token reads the allowed path ...
    p, lines = check(bao, wire([*MOUNT, *K]), token=token)
    assert p.returncode == 0, p.stdout + p.stderr
    # ... and is denied on a stream that reads kv/data/other/config (which holds data)
    other = wire(["-m", "mount", "--role", "portkey-gateway", "--vault-path", "kv/data/other/config", *K])
    p, lines = check(bao, other, token=token)
    assert p.returncode == 1, p.stdout + p.stderr
    fails = [line for line in lines if line.startswith("FAIL")]
    assert len(fails) == 8, lines
    assert all("kv/data/other/config" in line and "permission denied" in line for line in fails), fails
    assert token not in p.stdout + p.stderr


# --- where the token goes -------------------------------------------------------------------

# One Deployment whose injector reads key PASSWORD of kv/data/app/config: one read.
STREAM = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  template:
    metadata:
      annotations:
        vault.hashicorp.com/agent-inject: "true"
        vault.hashicorp.com/agent-inject-secret-config: kv/data/app/config
        vault.hashicorp.com/agent-inject-template-config: |
          {{- with secret "kv/data/app/config" -}}{{ .Data.data.PASSWORD }}{{- end }}
    spec:
      containers:
        - name: app
          image: app
"""
SECRET_PATH = "/v1/kv/data/app/config"
TOKEN = "s.redirect-test-" + secrets.token_hex(8)
VALUE = "v-" + secrets.token_hex(8)
ANSWER = (200, {"Content-Type": "application/json"}, json.dumps({"data": {"data": {"PASSWORD": VALUE}}}))


def moved(location):
    return (307, {"Location": location}, "")


class Recorder:
    """An HTTP server on 127.0.0.1 (a free port) that answers GET from `routes` (path ->
    (status, headers, body); anything else 404) and records the path and headers of every
    request it receives."""

    def __init__(self):
        self.routes, self.requests = {}, []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                recorder.requests.append((self.path, dict(self.headers)))
                status, headers, body = recorder.routes.get(self.path.split("?")[0], (404, {}, "{}"))
                data = body.encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def tokens(self):
        """The X-Vault-Token of every request, in order (None: the request had none)."""
        return [next((v for k, v in h.items() if k.lower() == "x-vault-token"), None) for _, h in self.requests]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def recorder():
    started = []

    def start(routes=None):
        r = Recorder()
        r.routes.update(routes or {})
        started.append(r)
        return r

    yield start
    for r in started:
        r.close()


def check_at(addr, *args, merge=False, token=TOKEN):
    """`vaultwire check` of STREAM against `addr`: no Vault or proxy variables from the caller
    (nothing may reach past loopback through a proxy); with `merge`, stderr joins stdout in the
    order written. Neither the token nor the value ever appears."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("VAULT_", "BAO_")) and not k.lower().endswith("_proxy")}
    p = subprocess.run([str(BIN), "check", "--vault-addr", addr, "--token", token, *args], input=STREAM,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT if merge else subprocess.PIPE,
                       text=True, env=env, timeout=60)
    out = p.stdout + (p.stderr or "")
    assert token not in out and VALUE not in out, out
    return p


def test_check_follows_redirects_within_the_origin(recorder):
    # absolute path, relative path, then an absolute URL of the same origin: each hop gets the token
    server = recorder()
    server.routes.update({
        SECRET_PATH: moved("/v1/kv/data/app/one"),
        "/v1/kv/data/app/one": moved("two?version=1"),
        "/v1/kv/data/app/two": moved(server.origin + "/v1/kv/data/app/three"),
        "/v1/kv/data/app/three": ANSWER,
    })
    p = check_at(server.origin)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.startswith("ok   kv/data/app/config key PASSWORD"), p.stdout
    assert "warning" not in p.stderr, p.stderr  # plain http, but to loopback
    paths = [path for path, _ in server.requests]
    assert paths == [SECRET_PATH, "/v1/kv/data/app/one", "/v1/kv/data/app/two?version=1", "/v1/kv/data/app/three"]
    assert server.tokens() == [TOKEN] * 4


def test_check_gives_up_after_five_redirects(recorder):
    server = recorder({SECRET_PATH: moved(SECRET_PATH)})
    p = check_at(server.origin)
    assert p.returncode == 1, p.stdout + p.stderr
    assert f"redirected more than 5 times within {server.origin}" in p.stdout, p.stdout
    assert len(server.requests) == 6  # the request and five redirects


def test_check_does_not_follow_a_redirect_to_another_origin(recorder):
    # A standby points at the active node. The target would answer, so following it would pass.
    active = recorder({SECRET_PATH: ANSWER})
    standby = recorder({SECRET_PATH: moved(active.origin + SECRET_PATH)})
    p = check_at(standby.origin)
    assert p.returncode == 1, p.stdout + p.stderr
    fail = p.stdout.splitlines()[0]
    assert fail.startswith("FAIL kv/data/app/config key PASSWORD: "), p.stdout
    assert f"Vault at {standby.origin} redirected (HTTP 307) to another origin, {active.origin}" in fail
    assert "point --vault-addr or VAULT_ADDR at the active node or at a load balancer" in fail
    assert standby.tokens() == [TOKEN]
    assert active.requests == []  # not the token, not a request at all


def test_check_counts_localhost_as_another_origin_than_127_0_0_1(recorder):
    # Origins compare host names as written: 127.0.0.1 and localhost may be one machine, but
    # vaultwire does not resolve names to decide where the token goes.
    server = recorder()
    elsewhere = f"http://localhost:{server.port}"
    server.routes[SECRET_PATH] = moved(elsewhere + SECRET_PATH)
    p = check_at(server.origin)
    assert p.returncode == 1, p.stdout + p.stderr
    assert f"redirected (HTTP 307) to another origin, {elsewhere}" in p.stdout, p.stdout
    assert len(server.requests) == 1 and server.tokens() == [TOKEN]


def test_check_warns_on_plain_http_to_a_host_that_is_not_loopback():
    # .invalid never resolves (RFC 2606): the run stops at the name lookup, past the warning.
    addr = "http://vault.invalid:8200"
    p = check_at(addr, merge=True)
    assert p.returncode == 1, p.stdout
    lines = p.stdout.splitlines()
    warning = ("vaultwire check: warning: http://vault.invalid:8200 is plain http to a host that is not "
               "loopback: the token would travel in clear text")
    assert lines.count(warning) == 1, lines
    fail = next(i for i, line in enumerate(lines) if line.startswith("FAIL "))
    assert lines.index(warning) < fail and f"cannot reach Vault at {addr}" in lines[fail], lines


def test_check_strict_refuses_plain_http_to_a_host_that_is_not_loopback():
    p = check_at("http://vault.invalid:8200", "--strict")
    assert p.returncode == 1, p.stdout + p.stderr
    assert p.stdout == "", p.stdout  # no read was tried
    assert p.stderr.strip() == ("vaultwire: check --strict: http://vault.invalid:8200 is plain http to a host "
                                "that is not loopback: the token would travel in clear text"), p.stderr


def test_check_refuses_an_address_that_is_not_an_http_url():
    p = check_at("vault.invalid:8200")
    assert p.returncode == 2, p.stdout + p.stderr
    assert "Vault address 'vault.invalid:8200' is not an http:// or https:// URL" in p.stderr, p.stderr


def test_check_does_not_print_a_token_that_is_not_a_header_value(recorder):
    server = recorder({SECRET_PATH: ANSWER})
    secret = secrets.token_hex(8)
    p = check_at(server.origin, token=f"s.{secret}\n{secret}")
    assert p.returncode == 1, p.stdout + p.stderr
    assert p.stdout.startswith("FAIL ") and secret not in p.stdout + p.stderr, p.stdout + p.stderr
    assert server.requests == []
