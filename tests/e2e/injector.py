"""Pod annotations read the way vault-k8s (agent-inject/agent) reads them, written by hand
for this test: secret names, lower-casing, preserve-secret-case, agent-inject-file,
secret-volume-path, templates (vault-k8s's default template when none is given) and
error-on-missing-key; then a Vault/OpenBao Agent config that renders them once."""

import os
import posixpath

import bao_agent

P = "vault.hashicorp.com/"
SECRET = P + "agent-inject-secret-"
DEFAULT_VOLUME = "/vault/secrets"
# vault-k8s agent-inject/agent/config.go DefaultTemplate
DEFAULT_TEMPLATE = '{{ with secret "%s" }}{{ range $k, $v := .Data }}{{ $k }}: {{ $v }}\n{{ end }}{{ end }}'


def go_bool(s):
    """strconv.ParseBool."""
    if s in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if s in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ValueError(f"not a Go bool: {s!r}")


class InjectedSecret:
    def __init__(self, raw, name, path, template, default_template, dest, error_on_missing_key):
        self.raw, self.name, self.path = raw, name, path
        self.template, self.default_template = template, default_template
        self.dest, self.error_on_missing_key = dest, error_on_missing_key

    def __repr__(self):
        return f"<{self.raw} -> {self.dest}>"


def injects(annotations):
    a = annotations or {}
    return P + "agent-inject" in a and go_bool(str(a[P + "agent-inject"]))


def volume_paths(annotations):
    a = annotations or {}
    paths = {a.get(P + "secret-volume-path") or DEFAULT_VOLUME}
    for k, v in a.items():
        if k.startswith(P + "secret-volume-path-") and v:
            paths.add(v)
    return sorted(paths)


def secrets(annotations):
    a = {k: str(v) for k, v in (annotations or {}).items()}
    volume = a.get(P + "secret-volume-path") or DEFAULT_VOLUME
    out = []
    for key, path in a.items():
        if not key.startswith(SECRET):
            continue
        raw = key[len(SECRET):]
        preserve = a.get(P + "preserve-secret-case-" + raw, a.get(P + "preserve-secret-case"))
        name = raw if preserve is not None and go_bool(preserve) else raw.lower()
        if not name:
            continue
        assert P + "agent-inject-template-file-" + raw not in a, "template files come from a ConfigMap this test does not model"
        template = a.get(P + "agent-inject-template-" + raw, "")
        default = template == ""
        if default:
            template = DEFAULT_TEMPLATE % path
        mount = a.get(P + "secret-volume-path-" + raw) or volume
        file = a.get(P + "agent-inject-file-" + raw)
        dest = posixpath.normpath(mount + "/" + file) if file else f"{mount}/{name}"
        emk = go_bool(a[P + "error-on-missing-key-" + raw]) if P + "error-on-missing-key-" + raw in a else False
        out.append(InjectedSecret(raw, name, path, template, default, dest, emk))
    return out


def run_agent(bao_addr, token, secs, root, timeout=60):
    """Render `secs` once with `bao agent` (token_file auth, exit_after_auth) into root +
    each pod path. Returns (returncode, log text)."""
    token_file = bao_agent.token_file(root, token)
    dests = [s.dest for s in secs]
    assert len(set(dests)) == len(dests), f"two secrets write one file: {dests}"
    config = {
        "vault": {"address": bao_addr, "retry": {"num_retries": 1}},
        "exit_after_auth": True,
        "pid_file": os.path.join(root, ".agent.pid"),
        "auto_auth": {"method": [{"type": "token_file", "config": {"token_file_path": token_file}}]},
        "template_config": {"exit_on_retry_failure": True},
        "template": [
            {
                "destination": root + s.dest,
                "contents": s.template,
                "error_on_missing_key": s.error_on_missing_key,
                "left_delimiter": "{{",
                "right_delimiter": "}}",
            }
            for s in secs
        ],
    }
    return bao_agent.run(config, root, timeout)


def reader(root):
    """read_file for a pod whose injector wrote under root: pod path -> contents or None."""

    def read(p):
        local = root + posixpath.normpath(posixpath.join("/", p))
        if os.path.isfile(local):
            with open(local) as f:
                return f.read()
        return None

    return read
