"""Fixtures for the compatibility tests: a client of the running ledger.

`tests/run` starts `ledger serve` on a fresh database and passes its address and the admin
token in LEDGER_URL and LEDGER_TOKEN.
"""

import os
import uuid

import pytest
from waldur_api_client import AuthenticatedClient


@pytest.fixture(scope="session")
def base_url():
    return os.environ["LEDGER_URL"]


@pytest.fixture(scope="session")
def admin(base_url):
    # The client raises UnexpectedStatus for any status it does not document.
    return AuthenticatedClient(base_url=base_url, token=os.environ["LEDGER_TOKEN"])


@pytest.fixture
def unique():
    """A short unique suffix so that tests sharing one ledger do not collide."""
    return uuid.uuid4().hex[:8]
