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


def key(i):
    return f"CONFIG_KEY_{i:02d}"


def secret(k):
    lines = [
        "---",
        "# Source: bench/templates/secret.yaml",
        "apiVersion: v1",
        "kind: Secret",
        "metadata:",
        "  name: bench-config",
        "  labels:",
        "    app.kubernetes.io/instance: bench",
        "type: Opaque",
        "data:",
    ]
    for i in range(k):
        value = base64.b64encode(f"bench-value-{i:02d}-not-a-secret".encode()).decode()
        lines.append(f'  {key(i)}: "{value}"')
    return "\n".join(lines) + "\n"


def workload(source, name, env):
    """A Deployment as charts render them: `env` is the YAML of its env entries after the two
    literal ones every bench Deployment has."""
    return f"""---
# Source: bench/templates/{source}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels:
    app.kubernetes.io/name: {name}
    app.kubernetes.io/instance: bench
    app.kubernetes.io/managed-by: Helm
spec:
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
    return f"""---
# Source: bench/templates/service-{n}.yaml
apiVersion: v1
kind: Service
metadata:
  name: app-{n:05d}
  labels:
    app.kubernetes.io/name: app-{n:05d}
    app.kubernetes.io/instance: bench
spec:
  type: ClusterIP
  ports:
  - port: 80
    targetPort: http
    protocol: TCP
    name: http
  selector:
    app.kubernetes.io/name: app-{n:05d}
"""


def pair_key(n, distinct):
    return f"password_{n:04d}" if distinct else "password"


def pair_secret(n, distinct):
    value = base64.b64encode(f"bench-password-{n:04d}-not-a-secret".encode()).decode()
    return f"""---
# Source: bench/templates/pair-secret-{n}.yaml
apiVersion: v1
kind: Secret
metadata:
  name: app-{n:04d}
  labels:
    app.kubernetes.io/name: app-{n:04d}
    app.kubernetes.io/instance: bench
type: Opaque
data:
  {pair_key(n, distinct)}: "{value}"
"""


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
    head = f"""---
# Source: bench/templates/crds/widget-{n}.yaml
apiVersion: bench.example.com/v1
kind: WidgetSchema
metadata:
  name: widget-{n:05d}
spec:
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
    parts = [head]
    total = len(head)
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
