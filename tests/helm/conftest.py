import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import helmenv  # noqa: E402


def pytest_configure(config):
    if not helmenv.in_session():
        raise pytest.UsageError(
            "tests/helm need HELM_PLUGINS set before Helm's library loads: run "
            "`bash tests/helm/run.sh` or `python3 tests/helm/session.py tests/helm`"
        )


@pytest.fixture(scope="session")
def plugins() -> Path:
    import os

    return Path(os.environ["HELM_PLUGINS"])


@pytest.fixture(scope="session")
def state_dir() -> Path:
    import os

    return Path(os.environ["XDG_STATE_HOME"])
