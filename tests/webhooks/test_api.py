"""The admin API of webhook endpoints: register (the secret shown once), list, read, pause
and resume, rotate, remove; who may; which URLs are refused and how."""

from __future__ import annotations

import base64

import httpx
import pytest

from liveblog.store.database import Database
from liveblog.store.tokens import Role
from tests.api.fixtures_extra import assert_problem_of
from tests.conftest import make_token
from tests.webhooks.conftest import register

API = "/api/v1/webhooks"
URL = "https://cms.example.org/hooks/liveblog"


@pytest.mark.webhooks(webhook_allow_private=False)
async def test_register_shows_the_secret_once_and_reads_never_do(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.post(API, json={"url": URL, "stories": ["one", "one", "two"]}, headers=admin)
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"] == f"{API}/{created['id']}"
    assert created["secret"].startswith("whsec_")
    assert len(base64.b64decode(created["secret"].removeprefix("whsec_"))) == 32
    assert created["url"] == URL and created["status"] == "active" and created["failures"] == 0
    assert created["stories"] == ["one", "two"] and created["types"] is None
    assert created["paused_reason"] is None and created["delivered"] == 0

    read = (await client.get(f"{API}/{created['id']}", headers=admin)).json()
    assert "secret" not in read
    assert read == {k: v for k, v in created.items() if k != "secret"}
    listed = (await client.get(API, headers=admin)).json()
    assert listed["next"] is None and [item["id"] for item in listed["items"]] == [created["id"]]
    assert created["secret"] not in (await client.get(API, headers=admin)).text
    assert created["secret"] not in (await client.get(f"{API}/{created['id']}", headers=admin)).text


async def test_list_pages_pause_resume_rotate_and_delete(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    ids = [(await register(client, admin, f"{URL}/{n}"))["id"] for n in range(3)]
    first = (await client.get(API, params={"limit": 2}, headers=admin)).json()
    assert [item["id"] for item in first["items"]] == ids[:2] and first["next"] == ids[1]
    rest = (await client.get(API, params={"limit": 2, "after": first["next"]}, headers=admin)).json()
    assert [item["id"] for item in rest["items"]] == ids[2:] and rest["next"] is None

    paused = await client.patch(
        f"{API}/{ids[0]}", json={"status": "paused", "reason": "moving"}, headers=admin
    )
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    assert paused.json()["paused_reason"] == "moving"
    by_default = await client.patch(f"{API}/{ids[1]}", json={"status": "paused"}, headers=admin)
    assert by_default.json()["paused_reason"] == "paused by Sam Admin"
    resumed = await client.patch(f"{API}/{ids[0]}", json={"status": "active"}, headers=admin)
    assert resumed.json()["status"] == "active" and resumed.json()["paused_reason"] is None
    assert_problem_of(
        await client.patch(f"{API}/{ids[0]}", json={"status": "active", "reason": "x"}, headers=admin),
        422,
        "invalid-input",
    )
    assert_problem_of(
        await client.patch(f"{API}/{ids[0]}", json={"status": "gone"}, headers=admin),
        422,
        "validation-failed",
    )

    rotated = await client.post(f"{API}/{ids[2]}/secret", headers=admin)
    assert rotated.status_code == 200 and rotated.json()["secret"].startswith("whsec_")
    again = await client.post(f"{API}/{ids[2]}/secret", headers=admin)
    assert again.json()["secret"] != rotated.json()["secret"]

    deleted = await client.delete(f"{API}/{ids[2]}", headers=admin)
    assert deleted.status_code == 204 and deleted.content == b""
    for response in (
        await client.get(f"{API}/{ids[2]}", headers=admin),
        await client.delete(f"{API}/{ids[2]}", headers=admin),
        await client.post(f"{API}/{ids[2]}/secret", headers=admin),
        await client.patch(f"{API}/{ids[2]}", json={"status": "paused"}, headers=admin),
    ):
        assert_problem_of(response, 404, "webhook-not-found")
    assert_problem_of(await client.get(f"{API}/not-an-id", headers=admin), 422, "validation-failed")


async def test_an_idempotency_key_replays_the_registration(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    keyed = {**admin, "Idempotency-Key": "register-once"}
    first = await client.post(API, json={"url": URL}, headers=keyed)
    second = await client.post(API, json={"url": URL}, headers=keyed)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert len((await client.get(API, headers=admin)).json()["items"]) == 1
    assert_problem_of(
        await client.post(API, json={"url": URL + "/other"}, headers=keyed), 422, "idempotency-key-reused"
    )


async def test_only_admins(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    editor: dict[str, str],
    auditor: dict[str, str],
    database: Database,
) -> None:
    consumer = {"Authorization": f"Bearer {await make_token(database, Role.CONSUMER, 'Cms Consumer')}"}
    hook = await register(client, admin, URL)
    calls = [
        ("POST", API, {"url": URL}),
        ("GET", API, None),
        ("GET", f"{API}/{hook['id']}", None),
        ("PATCH", f"{API}/{hook['id']}", {"status": "paused"}),
        ("DELETE", f"{API}/{hook['id']}", None),
        ("POST", f"{API}/{hook['id']}/secret", None),
    ]
    for method, path, body in calls:
        for headers in (editor, auditor, consumer):
            response = await client.request(method, path, json=body, headers=headers)
            assert_problem_of(response, 403, "forbidden")
            assert hook["secret"] not in response.text
        assert_problem_of(await client.request(method, path, json=body), 401, "unauthenticated")
    assert (await client.get(f"{API}/{hook['id']}", headers=admin)).json()["status"] == "active"


BAD_URLS = [
    ("ftp://files.example.org/x", "https:// or http://"),
    ("cms.example.org/hooks", "https:// or http://"),
    ("https://", "no host"),
    ("https://user:pass@cms.example.org/hooks", "credentials"),
    ("https://token@cms.example.org/hooks", "credentials"),
    ("https://cms.example.org/hooks#part", "fragment"),
    ("https://cms.example.org/hooks with space", "whitespace"),
    ("https://cms.example.org:99999/hooks", "cannot be read"),
    ("https://bad_host!.example.org/", "not a valid host name"),
    ("https://cms.example.org/" + "a" * 2048, "at most 2048 characters"),
    ("http://127.0.0.1:8000/hooks", "loopback"),
    ("http://10.1.2.3/hooks", "private"),
    ("http://192.168.0.10/hooks", "private"),
    ("http://169.254.169.254/latest/meta-data", "link-local"),
    ("http://[::1]/hooks", "loopback"),
    ("http://[::ffff:127.0.0.1]/hooks", "embeds"),
    ("http://[fe80::1]/hooks", "link-local"),
    ("http://[fd00::1]/hooks", "private"),
    ("http://0.0.0.0/hooks", "unspecified"),
    ("http://224.0.0.1/hooks", "multicast"),
]


@pytest.mark.webhooks(webhook_allow_private=False)
async def test_bad_urls_are_422_saying_why(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    wrong = []
    for url, why in BAD_URLS:
        response = await client.post(API, json={"url": url}, headers=admin)
        if response.status_code != 422 or not response.headers["content-type"].startswith(
            "application/problem+json"
        ):
            wrong.append(f"{url[:60]}: {response.status_code} {response.text[:200]}")
            continue
        document = response.json()
        if why not in document["detail"] + str(document.get("errors", "")):
            wrong.append(f"{url[:60]}: does not say {why!r}: {document}")
    assert not wrong, "\n".join(wrong)
    assert (await client.get(API, headers=admin)).json()["items"] == []


async def test_private_addresses_may_be_registered_when_allowed(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    hook = await register(client, admin, "http://127.0.0.1:9/hooks")
    assert hook["url"] == "http://127.0.0.1:9/hooks"


async def test_bad_filters_are_422(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    for body, kind in (
        ({"url": URL, "stories": []}, "validation-failed"),
        ({"url": URL, "types": []}, "validation-failed"),
        ({"url": URL, "stories": ["Not A Slug"]}, "validation-failed"),
        ({"url": URL, "types": ["NoSuchEvent"]}, "invalid-input"),
        ({"url": URL, "colour": "red"}, "validation-failed"),
        ({}, "validation-failed"),
    ):
        assert_problem_of(await client.post(API, json=body, headers=admin), 422, kind)
    assert (await client.get(API, headers=admin)).json()["items"] == []
