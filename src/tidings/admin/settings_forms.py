"""The app-settings forms read into ``core.apps.update_app`` changes, or refused with
one clear message (``InvalidInput``) naming the field: pure functions, no I/O.

The config sections are the ones ``tidings app update`` writes (``apns``, ``fcm``,
``gms``, the service-desk keys), merged into what is there so that fields this
panel does not show (an APNs ``url`` or ``ca_file`` set by an operator) survive.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.serialization import load_pem_private_key

from tidings.core.callbacks import EXPIRY_BOUNDS_S
from tidings.core.canned_replies import MAX_CANNED, check_canned_replies
from tidings.domain.errors import InvalidInput

#: Apple's key and team ids are 10 characters; leave room, refuse what is not an id.
APPLE_ID = re.compile(r"[A-Za-z0-9]{1,40}")
#: A bundle id (the ``apns-topic``): reverse-DNS letters, digits, dots and hyphens.
BUNDLE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-]{0,254}")
SERVICE_NAME = re.compile(r"[A-Za-z0-9_\-]{1,100}")
FCM_FIELDS = ("client_email", "private_key", "project_id", "token_uri")
APNS_ENVIRONMENTS = ("", "production", "development")


def section(config: dict[str, Any], key: str) -> dict[str, Any]:
    """``config[key]`` if it is a dict, else an empty one."""
    value = config.get(key)
    return value if isinstance(value, dict) else {}


def url_field(value: str, field: str) -> str:
    """An ``http(s)://host/...`` URL, or '' (which clears the setting)."""
    value = value.strip()
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or " " in value:
        raise InvalidInput(f"{field} must be an http:// or https:// URL with a host", field=field)
    if len(value) > 2000:
        raise InvalidInput(f"{field} is at most 2000 characters", field=field)
    return value


def text_field(value: str, field: str, max_len: int) -> str | None:
    value = value.strip()
    if len(value) > max_len:
        raise InvalidInput(f"{field} is at most {max_len} characters", field=field)
    return value or None


def desk_changes(form: dict[str, str], config: dict[str, Any]) -> dict[str, Any]:
    """``update_app`` keyword arguments for the service-desk form."""
    changes: dict[str, Any] = {
        "welcome_message": text_field(form.get("welcome_message", ""), "welcome message", 2000),
        "chat_title": text_field(form.get("chat_title", ""), "chat title", 200),
        "agent_name": text_field(form.get("agent_name", ""), "agent name", 200),
        "rating_on_close": bool(form.get("rating_on_close")),
    }
    secret = form.get("webhook_secret", "").strip()
    if form.get("clear_webhook_secret"):
        changes["webhook_secret"] = None
    elif secret:
        if len(secret) < 16 or len(secret) > 200:
            raise InvalidInput("webhook secret is 16 to 200 characters", field="webhook_secret")
        changes["webhook_secret"] = secret
    return {
        "auth_url": url_field(form.get("auth_url", ""), "authorization service URL"),
        "webhook_url": url_field(form.get("webhook_url", ""), "webhook URL"),
        "config": changes,
    }


def apns_changes(form: dict[str, str], config: dict[str, Any]) -> dict[str, Any]:
    apns = dict(section(config, "apns"))
    for name, field, label in (("key_id", "key_id", "key id"), ("team_id", "team_id", "team id")):
        value = form.get(field, "").strip()
        if value and not APPLE_ID.fullmatch(value):
            raise InvalidInput(f"APNs {label} is letters and digits (10 from Apple)", field=field)
        apns[name] = value or None
    bundle = form.get("bundle", "").strip()
    if bundle and not BUNDLE.fullmatch(bundle):
        raise InvalidInput("APNs bundle id is like com.example.app", field="bundle")
    apns["topic"] = bundle or None
    environment = form.get("environment", "")
    if environment not in APNS_ENVIRONMENTS:
        raise InvalidInput("APNs environment is production or development", field="environment")
    apns["environment"] = environment or None
    key = form.get("key", "").strip()
    if key:
        try:
            load_pem_private_key(key.encode(), password=None)
        except (ValueError, TypeError):
            raise InvalidInput(
                "APNs key is not a PEM private key (paste the whole .p8 file)", field="key"
            ) from None
        apns["key"] = key + "\n"
        apns.pop("key_path", None)
    return {"config": {"apns": apns}}


def fcm_changes(form: dict[str, str], config: dict[str, Any]) -> dict[str, Any]:
    text = form.get("service_account", "").strip()
    if not text:
        raise InvalidInput("paste the FCM service account JSON", field="service_account")
    try:
        account = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"FCM service account is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            field="service_account",
        ) from None
    if not isinstance(account, dict):
        raise InvalidInput("FCM service account is a JSON object", field="service_account")
    missing = [k for k in FCM_FIELDS if not isinstance(account.get(k), str) or not account[k]]
    if missing:
        raise InvalidInput(
            f"FCM service account lacks {', '.join(missing)}", field="service_account"
        )
    return {"config": {"fcm": {**section(config, "fcm"), "credentials": account}}}


def gms_changes(form: dict[str, str], config: dict[str, Any]) -> dict[str, Any]:
    """GMS on (a ``gms`` section) with its callback services and expiry, or off."""
    if not form.get("enabled"):
        return {"config": {"gms": None}}
    names = [n.strip() for n in form.get("services", "").split(",") if n.strip()]
    if not names or any(not SERVICE_NAME.fullmatch(n) for n in names):
        raise InvalidInput(
            "callback services are NAME[, NAME]: letters, digits, - and _", field="services"
        )
    gms = {**section(config, "gms"), "callback_services": list(dict.fromkeys(names))}
    expiry = form.get("expire_after_s", "").strip()
    if expiry:
        low, high = EXPIRY_BOUNDS_S
        if not expiry.isdigit() or not low <= int(expiry) <= high:
            raise InvalidInput(
                f"callbacks expire after {low} to {high} seconds", field="expire_after_s"
            )
        gms["expire_after_s"] = int(expiry)
    else:
        gms.pop("expire_after_s", None)
    return {"config": {"gms": gms}}


#: A canned-reply row of the editor: ``title_N``, ``body_N`` and ``delete_N``, N its place.
CANNED_FIELD = re.compile(r"(title|body|delete)_(\d{1,3})")


def canned_rows(form: dict[str, str]) -> list[dict[str, Any]]:
    """The editor's rows as typed, in their order (blank rows included): the page shows
    them again when the form is refused."""
    places = sorted({int(m.group(2)) for k in form if (m := CANNED_FIELD.fullmatch(k))})
    return [
        {
            "title": form.get(f"title_{n}", ""),
            "body": form.get(f"body_{n}", "").replace("\r\n", "\n"),
            "delete": bool(form.get(f"delete_{n}")),
        }
        for n in places
    ]


def canned_changes(form: dict[str, str], config: dict[str, Any]) -> dict[str, Any]:
    """The whole list of canned replies, replaced: rows marked for deletion and blank
    rows dropped, the rest checked (an empty list removes the key)."""
    rows = canned_rows(form)
    if len(rows) > MAX_CANNED + 10:
        raise InvalidInput(f"at most {MAX_CANNED} canned replies", field="canned_replies")
    kept = [
        (n, {"title": r["title"], "body": r["body"]})
        for n, r in enumerate(rows, 1)
        if not r["delete"] and (r["title"].strip() or r["body"].strip())
    ]
    entries = check_canned_replies([e for _, e in kept], numbers=[n for n, _ in kept])
    return {"config": {"canned_replies": entries or None}}


#: Each settings form: its name in URLs and notices, and how it becomes a change.
FORMS = {
    "desk": desk_changes,
    "apns": apns_changes,
    "fcm": fcm_changes,
    "gms": gms_changes,
    "canned": canned_changes,
}
