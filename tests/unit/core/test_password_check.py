"""A password in clear against the cheapest stored verifier: SCRAM keys when current,
argon2id otherwise; an unknown account and a password SASLprep refuses never match."""

from __future__ import annotations

from tidings.core.password_check import check_password
from tidings.core.passwords import hash_password
from tidings.core.scram_keys import derive

SALT = b"0123456789abcdef"


async def test_scram_keys_decide_when_present_and_argon2_when_not() -> None:
    argon2 = await hash_password("argon2 one", memory_kib=1024, iterations=1)
    keys = derive("SHA-256", "scram one", SALT, 4096)
    through_keys = await check_password(argon2, keys, "scram one", iterations=4096)
    assert through_keys.matches and through_keys.used_scram_keys
    assert not (await check_password(argon2, keys, "argon2 one", iterations=4096)).matches
    legacy = await check_password(argon2, None, "argon2 one", iterations=4096)
    assert legacy.matches and not legacy.used_scram_keys
    assert not (await check_password(argon2, None, "scram one", iterations=4096)).matches


async def test_keys_of_another_count_match_but_are_not_current() -> None:
    argon2 = await hash_password("pw", memory_kib=1024, iterations=1)
    old = derive("SHA-256", "pw", SALT, 4096)
    check = await check_password(argon2, old, "pw", iterations=8192)
    assert check.matches and not check.used_scram_keys


async def test_unknown_accounts_and_unpreppable_passwords_never_match() -> None:
    keys = derive("SHA-256", "pw", SALT, 4096)
    argon2 = await hash_password("pw", memory_kib=1024, iterations=1)
    assert not (await check_password(None, None, "pw", iterations=4096)).matches
    assert not (await check_password(None, keys, "pw", iterations=4096)).matches
    # U+0007 is a control character SASLprep prohibits (RFC 4013 §2.3).
    assert not (await check_password(argon2, keys, "pw\x07", iterations=4096)).matches
