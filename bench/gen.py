#!/usr/bin/env python3
"""Generate a large synthetic rendered stream in the Portkey pattern, for bench/run.sh.

One chart Secret holding K configuration keys, N Deployments whose single container reads
every key through a secretKeyRef (plus two literal env entries), N Services, and C large
CRD-like documents (a custom kind vaultwire never parses) of about S bytes each. The output
looks like `helm template`: `---` separators and a `# Source:` comment per document.

    python3 bench/gen.py --deployments 2000 --env 15 --services 2000 > /tmp/big.yaml
    python3 bench/gen.py --deployments 20 --env 15 --crds 300 --crd-bytes 100000 > /tmp/crd.yaml

With --pairs N it writes instead N Secret/Deployment pairs (the pruning stream): Secret
`app-NNNN` holds one key, `password`, with a value of its own, and Deployment `app-NNNN` reads
it as DB_PASSWORD through a secretKeyRef. Helm's order: the N Secrets, then the N Deployments.
Every Secret holds the same key name with a different value; --distinct-keys names the key
`password_NNNN` instead, for a vaultwire that merges equal key names across Secrets.

    python3 bench/gen.py --pairs 8000 > /tmp/pairs.yaml
    python3 bench/gen.py --pairs 8000 --distinct-keys > /tmp/pairs-distinct.yaml

The values are fake and deterministic (no randomness): the same flags give the same bytes.
"""
import argparse
import base64
import sys


NAME = "app.kubernetes.io/name"
INSTANCE = ("app.kubernetes.io/instance", "bench")


def key(i):
    return f"CONFIG_KEY_{i:02d}"


def head(source, api_version, kind, name, labels=()):
    """What every document starts with, as `helm template` prints it: the separator, the
    `# Source:` comment, apiVersion, kind, and metadata (the name, then `labels` in order)."""
    lines = ["---", f"# Source: bench/templates/{source}", f"apiVersion: {api_version}", f"kind: {kind}",
             "metadata:", f"  name: {name}"]
    if labels:
        lines += ["  labels:"] + [f"    {k}: {v}" for k, v in labels]
    return "\n".join(lines) + "\n"


def opaque_secret(source, name, labels, data):
    """A Secret holding `data`, (key, plaintext) pairs, base64-encoded as charts render them."""
    lines = ["type: Opaque", "data:"]
    for k, plain in data:
        lines.append(f'  {k}: "{base64.b64encode(plain.encode()).decode()}"')
    return head(source, "v1", "Secret", name, labels) + "\n".join(lines) + "\n"


def secret(k):
    data = [(key(i), f"bench-value-{i:02d}-not-a-secret") for i in range(k)]
    return opaque_secret("secret.yaml", "bench-config", [INSTANCE], data)


def workload(source, name, env):
    """A Deployment as charts render them: `env` is the YAML of its env entries after the two
    literal ones every bench Deployment has."""
    labels = [(NAME, name), INSTANCE, ("app.kubernetes.io/managed-by", "Helm")]
    return head(source, "apps/v1", "Deployment", name, labels) + f"""spec:
  replicas: 2
  selector:
    matchLabels:
      app.kubernetes.io/name: {name}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {name}
        app.kubernetes.io/instance: bench
    spec:
      serviceAccountName: bench
      containers:
      - name: app
        image: "nginx:1.27"
        imagePullPolicy: IfNotPresent
        ports:
        - name: http
          containerPort: 8080
          protocol: TCP
        env:
        - name: NODE_ENV
          value: production
{env}"""


def deployment(n, k):
    env = ["        - name: PORT", '          value: "8080"']
    for i in range(k):
        env += [
            f"        - name: {key(i)}",
            "          valueFrom:",
            "            secretKeyRef:",
            "              name: bench-config",
            f"              key: {key(i)}",
        ]
    return workload(f"deployment-{n}.yaml", f"app-{n:05d}", "\n".join(env) + "\n")


def service(n):
    name = f"app-{n:05d}"
    return head(f"service-{n}.yaml", "v1", "Service", name, [(NAME, name), INSTANCE]) + f"""spec:
  type: ClusterIP
  ports:
  - port: 80
    targetPort: http
    protocol: TCP
    name: http
  selector:
    app.kubernetes.io/name: {name}
"""


def pair_key(n, distinct):
    return f"password_{n:04d}" if distinct else "password"


def pair_secret(n, distinct):
    name = f"app-{n:04d}"
    data = [(pair_key(n, distinct), f"bench-password-{n:04d}-not-a-secret")]
    return opaque_secret(f"pair-secret-{n}.yaml", name, [(NAME, name), INSTANCE], data)


def pair_deployment(n, distinct):
    env = f"""        - name: DB_PASSWORD
          valueFrom:
            secretKeyRef:
              name: app-{n:04d}
              key: {pair_key(n, distinct)}
"""
    return workload(f"pair-deployment-{n}.yaml", f"app-{n:04d}", env)


def crd_like(n, size):
    """A custom resource shaped like a big CRD schema: nested maps and long descriptions."""
    top = head(f"crds/widget-{n}.yaml", "bench.example.com/v1", "WidgetSchema", f"widget-{n:05d}") + """spec:
  group: bench.example.com
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
"""
    parts = [top]
    total = len(top)
    f = 0
    while total < size:
        block = f"""          field{f:05d}:
            type: object
            description: "Field {f} of widget {n}: a long description as CRD schemas carry, repeated to make the document as large as generated CRDs are in practice."
            properties:
              enabled:
                type: boolean
              count:
                type: integer
                format: int64
                minimum: 0
              tags:
                type: array
                items:
                  type: string
"""
        parts.append(block)
        total += len(block)
        f += 1
    return "".join(parts)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--deployments", type=int, default=2000)
    p.add_argument("--env", type=int, default=15, help="configuration keys per Deployment")
    p.add_argument("--services", type=int, default=None, help="default: one per Deployment")
    p.add_argument("--crds", type=int, default=0)
    p.add_argument("--crd-bytes", type=int, default=100_000)
    p.add_argument("--pairs", type=int, default=None,
                   help="write only N Secret/Deployment pairs (the pruning stream)")
    p.add_argument("--distinct-keys", action="store_true",
                   help="--pairs: key password_NNNN in pair NNNN instead of password everywhere")
    a = p.parse_args()
    out = sys.stdout
    if a.pairs is not None:
        for n in range(a.pairs):
            out.write(pair_secret(n, a.distinct_keys))
        for n in range(a.pairs):
            out.write(pair_deployment(n, a.distinct_keys))
        return
    if a.distinct_keys:
        p.error("--distinct-keys goes with --pairs")
    services = a.deployments if a.services is None else a.services
    out.write(secret(a.env))
    for n in range(a.deployments):
        out.write(deployment(n, a.env))
    for n in range(services):
        out.write(service(n))
    for n in range(a.crds):
        out.write(crd_like(n, a.crd_bytes))


if __name__ == "__main__":
    main()
