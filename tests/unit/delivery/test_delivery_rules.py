"""Pure delivery rules: signatures, the SSRF guard, backoff, push payloads."""

from __future__ import annotations

import random

import pytest

from tidings.core.push import apns_payload, fcm_message
from tidings.delivery.base import retry_after_ms
from tidings.delivery.signing import sign, verify, webhook_body
from tidings.delivery.worker import backoff_ms
from tidings.outbound.ssrf import DestinationRefused, check_destination, is_public_address


def test_signature_binds_body_and_timestamp() -> None:
    body = webhook_body({"text": "héllo", "n": 1})
    assert body == '{"text":"héllo","n":1}'.encode()
    signature = sign("secret", 1700000000, body)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert verify("secret", "1700000000", body, signature)
    assert not verify("secret", "1700000001", body, signature)
    assert not verify("other", "1700000000", body, signature)
    assert not verify("secret", "1700000000", body + b" ", signature)
    assert not verify("secret", "1700000000", body, signature, now=1700000000 + 301)
    assert not verify("secret", "soon", body, signature)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.1",
        "169.254.169.254",
        "::1",
        "fc00::1",
        "0.0.0.0",
        "::ffff:127.0.0.1",
        "100.64.0.1",
        "224.0.0.1",
    ],
)
def test_private_addresses_are_not_public(address: str) -> None:
    assert not is_public_address(address)


async def test_ssrf_guard() -> None:
    await check_destination("https://93.184.216.34/hook", allow_private=False)
    for url in (
        "http://127.0.0.1:8080/",
        "http://[::1]/",
        "http://10.0.0.5/x",
        "http://localhost/",
    ):
        with pytest.raises(DestinationRefused):
            await check_destination(url, allow_private=False)
        await check_destination(url, allow_private=True)
    for url in ("ftp://example.com/", "http:///nohost", "http://user:pw@93.184.216.34/"):
        with pytest.raises(DestinationRefused):
            await check_destination(url, allow_private=True)


def test_backoff_is_exponential_with_full_jitter_and_capped() -> None:
    top = lambda: 0.999999  # noqa: E731
    assert [backoff_ms(n, 1000, 60_000, top) for n in (1, 2, 3, 4)] == [999, 1999, 3999, 7999]
    assert backoff_ms(30, 1000, 60_000, top) == 59_999
    assert backoff_ms(500, 1000, 60_000, top) == 59_999
    rng = random.Random(7)
    delays = [backoff_ms(5, 1000, 60_000, rng.random) for _ in range(1000)]
    assert 0 <= min(delays) < 1000 and 15_000 < max(delays) < 16_000, "spread over [0, 16s)"


def test_retry_after() -> None:
    assert retry_after_ms("3") == 3000
    assert retry_after_ms(None) is None and retry_after_ms("Wed, 21 Oct 2015") is None


def test_push_payload_shapes() -> None:
    data = {"dialog_id": "d", "message_id": "m", "sender_id": 5}
    assert apns_payload(title="Ann", body="hi", badge=3, data=data) == {
        "aps": {"alert": {"title": "Ann", "body": "hi"}, "badge": 3, "sound": "default"},
        **data,
    }
    message = fcm_message(title="Ann", body="hi", badge=3, data=data, collapse_key="k")
    assert message["notification"] == {"title": "Ann", "body": "hi"}
    assert message["data"] == {"dialog_id": "d", "message_id": "m", "sender_id": "5", "badge": "3"}
    assert message["android"]["notification"]["notification_count"] == 3
