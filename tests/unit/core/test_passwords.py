"""Password hashes: argon2id at the configured cost, verified at whatever cost they
were made with, and the cost bounded by the settings."""

from __future__ import annotations

import pydantic
import pytest

from tidings.core.passwords import hash_password, verify_password
from tidings.settings import Settings


async def test_default_cost_is_owasps_and_any_cost_verifies() -> None:
    default = await hash_password("correct horse battery")
    cheap = await hash_password("correct horse battery", memory_kib=1024, iterations=1)
    assert default.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert cheap.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    for stored in (default, cheap):
        assert await verify_password(stored, "correct horse battery")
        assert not await verify_password(stored, "correct horse batterY")


def test_settings_default_to_owasp_and_refuse_a_cost_below_the_floor() -> None:
    settings = Settings()
    assert (settings.password_hash_memory_kib, settings.password_hash_iterations) == (19456, 2)
    with pytest.raises(pydantic.ValidationError):
        Settings(password_hash_memory_kib=512)
    with pytest.raises(pydantic.ValidationError):
        Settings(password_hash_iterations=0)
