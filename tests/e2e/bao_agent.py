"""Running `bao agent` once on a config, for both readings of the injector annotations
(injector.py by hand, oracle.py through vault-k8s): they differ in the config they write, not in
how the agent is run, so the run is here once."""

import json
import os
import subprocess


def token_file(root, token):
    """Writes `token` to root/.token (the agent's token_file auth) and returns the path."""
    os.makedirs(root, exist_ok=True)
    path = os.path.join(root, ".token")
    with open(path, "w") as f:
        f.write(token)
    return path


def run(config, root, timeout=60):
    """Writes `config` to root/.agent.json and runs `bao agent` on it with HOME at root and only
    PATH from the environment. Returns (returncode, log text)."""
    cfg = os.path.join(root, ".agent.json")
    with open(cfg, "w") as f:
        json.dump(config, f, indent=1)
    env = {"PATH": os.environ["PATH"], "HOME": root}
    p = subprocess.run(["bao", "agent", f"-config={cfg}"], capture_output=True, text=True, timeout=timeout, env=env)
    return p.returncode, p.stdout + p.stderr
