from __future__ import annotations

import pytest
import redis as redis_lib

from exports.management.commands.seed_demo import seed_users
from tests.services import redis_test_url


@pytest.fixture
def demo_users(db):
    """alice (EMEA) and bob (AMER) in Analysts, carol with nothing, audra the auditor, admin."""
    seed_users()
    from django.contrib.auth import get_user_model

    return {user.username: user for user in get_user_model().objects.all()}


@pytest.fixture
def alice(demo_users):
    return demo_users["alice"]


@pytest.fixture
def bob(demo_users):
    return demo_users["bob"]


@pytest.fixture
def carol(demo_users):
    return demo_users["carol"]


@pytest.fixture
def audra(demo_users):
    return demo_users["audra"]


@pytest.fixture
def redis_url():
    url = redis_test_url()
    client = redis_lib.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
