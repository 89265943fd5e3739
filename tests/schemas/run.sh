#!/usr/bin/env bash
# Schema validation of every output document (Kubernetes schemas and the operators' CRDs).
set -euo pipefail
cd "$(dirname "$0")"
python3 -c 'import jsonschema, kubernetes_validate, yaml' 2>/dev/null ||
  python3 -m pip install -q jsonschema kubernetes-validate pyyaml
python3 validate.py
