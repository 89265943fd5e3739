"""A Kubernetes API just real enough for Helm 4 to *install* (not dry-run) on loopback.

Why: the helm-python-sdk returns hooks only from a stored release (``get_all``), and Helm stores a
release only when it really installs. Helm then needs discovery, a 404 for each object it checks,
and a 201 for each create. Nothing is kept; hooks are disabled in the install so no Job is awaited
(Helm still renders, post-renders and stores them).
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
        self._send(200, DISCOVERY[path]) if path in DISCOVERY else self._send(404, NOT_FOUND)

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
