import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from helmenv import Helm  # noqa: E402


def _binary(var: str) -> Path:
    value = os.environ.get(var)
    if not value or not Path(value).is_file():
        raise pytest.UsageError(f"{var} must name a real helm binary: run `bash tests/helm/run.sh`")
    return Path(value)


@pytest.fixture(scope="session")
def helm3_bin() -> Path:
    return _binary("VAULTWIRE_HELM3")


@pytest.fixture(scope="session")
def helm4_bin() -> Path:
    return _binary("VAULTWIRE_HELM4")


@pytest.fixture
def helm3(helm3_bin, tmp_path) -> Helm:
    """Real Helm 3 in a fresh sandbox, vaultwire on PATH (Helm 3 runs --post-renderer by path/name)."""
    return Helm(helm3_bin, tmp_path / "helm3")


@pytest.fixture
def helm4(helm4_bin, tmp_path) -> Helm:
    return Helm(helm4_bin, tmp_path / "helm4")


@pytest.fixture(params=["helm3", "helm4"])
def helm(request) -> Helm:
    """Each test that takes `helm` runs once under Helm 3 and once under Helm 4."""
    return request.getfixturevalue(request.param)
