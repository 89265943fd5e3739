"""A Kubernetes API just real enough for Helm on loopback: Helm 3's `install --dry-run` and
`upgrade --install --dry-run` (which need a reachable cluster and its release storage), and a real
Helm 4 SDK install (the only way to read a stored release's hooks).

Helm needs discovery, an empty list of release Secrets, a 404 for each object it checks, and a 201
for each create. Nothing is kept; the SDK install disables hooks so no Job is awaited (Helm still
renders, post-renders and stores them).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERBS = ["create", "get", "list", "delete", "patch", "update", "watch"]


def _resources(group_version: str, kinds: list[tuple[str, str]]) -> dict:
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": [
            {"name": plural, "singularName": kind.lower(), "namespaced": True, "kind": kind, "verbs": VERBS}
            for plural, kind in kinds
        ],
    }


def _group(name: str) -> dict:
    gv = {"groupVersion": f"{name}/v1", "version": "v1"}
    return {"name": name, "versions": [gv], "preferredVersion": gv}


DISCOVERY = {
    "/version": {"major": "1", "minor": "33", "gitVersion": "v1.33.0", "platform": "linux/amd64"},
    "/api": {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []},
    "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group("apps"), _group("batch")]},
    "/api/v1": _resources(
        "v1",
        [("secrets", "Secret"), ("configmaps", "ConfigMap"), ("services", "Service"),
         ("serviceaccounts", "ServiceAccount"), ("pods", "Pod")],
    ),
    "/apis/apps/v1": _resources("apps/v1", [("deployments", "Deployment")]),
    "/apis/batch/v1": _resources("batch/v1", [("jobs", "Job"), ("cronjobs", "CronJob")]),
}
NOT_FOUND = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404}


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *_args) -> None:  # quiet
        pass

    def _send(self, code: int, obj: dict) -> None:
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = self.path.split("?", 1)[0]
        if path in DISCOVERY:
            self._send(200, DISCOVERY[path])
        elif path.startswith("/api/v1/namespaces/") and path.endswith("/secrets"):
            self._send(200, {"kind": "SecretList", "apiVersion": "v1", "metadata": {}, "items": []})
        else:
            self._send(404, NOT_FOUND)

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            obj = json.loads(body)
        except ValueError:
            obj = {}
        self._send(201, obj)

    do_PUT = do_PATCH = do_POST


class FakeKubeAPI:
    """``with FakeKubeAPI() as url:`` serves on 127.0.0.1 (a free port) until the block ends."""

    def __enter__(self) -> str:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __exit__(self, *_exc) -> None:
        self._server.shutdown()
        self._server.server_close()
