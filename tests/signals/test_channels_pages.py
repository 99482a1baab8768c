"""Channel pages and API: sales ops only (403 for everyone else), secrets never shown, "Send test" over HTMX,
the delivery log filtered and paginated, retry of a failed delivery."""

from __future__ import annotations

from typing import Any

import pytest

from signals import crypto
from signals.models import Channel, Delivery, DeliveryStatus
from signals.services import channels as services
from signals.views.channels import DELIVERIES_PER_PAGE

URL = "https://hooks.slack.example/services/T1/B1/TOPSECRETPART"
SECRET = "whsec-0123456789abcdef"

PAGES = [
    "/signals/channels/",
    "/signals/channels/{channel}/",
    "/signals/deliveries/",
    "/signals/deliveries/{delivery}/",
]
WRITES = [
    "/signals/channels/",
    "/signals/channels/{channel}/",
    "/signals/channels/{channel}/test/",
    "/signals/channels/{channel}/delete/",
    "/signals/deliveries/{delivery}/retry/",
]


@pytest.fixture
def records(org: Any) -> dict[str, int]:
    channel = services.channel_create(actor=org.ops, kind="webhook", name="Hook", url=URL, secret=SECRET)
    delivery = services.channel_send(channel_id=channel.pk, subject="Hello", text="", source="t")
    return {"channel": channel.pk, "delivery": delivery}


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["director", "manager_east", "rep_a", "finance"])
def test_everyone_but_sales_ops_gets_403(
    org: Any, records: dict[str, int], client_for: Any, api_client_for: Any, who: str
) -> None:
    user = getattr(org, who)
    client = client_for(user)
    for page in PAGES:
        assert client.get(page.format(**records)).status_code == 403, page
    for page in WRITES:
        assert client.post(page.format(**records), {"name": "x"}).status_code == 403, page
    api = api_client_for(user)
    for path in ("/api/v1/signals/channels/", "/api/v1/signals/deliveries/",
                 f"/api/v1/signals/channels/{records['channel']}/", f"/api/v1/signals/deliveries/{records['delivery']}/"):  # fmt: skip
        assert api.get(path).status_code == 403, path
    assert api.post(f"/api/v1/signals/channels/{records['channel']}/test/").status_code == 403
    assert api.post("/api/v1/signals/channels/", {"kind": "email", "name": "x"}, format="json").status_code == 403
    assert Channel.objects.count() == 1 and Delivery.objects.count() == 1


@pytest.mark.django_db
def test_sales_ops_pages_never_show_the_url_or_secret(org: Any, records: dict[str, int], client_for: Any) -> None:
    client = client_for(org.ops)
    for page in PAGES:
        response = client.get(page.format(**records))
        assert response.status_code == 200, page
        body = response.content.decode()
        assert "TOPSECRETPART" not in body and SECRET not in body, page
    edit = client.get(f"/signals/channels/{records['channel']}/").content.decode()
    assert 'placeholder="set"' in edit and "set; type a new one to replace it" in edit
    assert client.get("/signals/channels/999999/").status_code == 404
    assert client.get("/signals/deliveries/999999/").status_code == 404


@pytest.mark.django_db
def test_create_and_edit_from_the_form_replacing_the_secret_only_when_typed(org: Any, client_for: Any) -> None:
    client = client_for(org.ops)
    response = client.post("/signals/channels/", {"kind": "webhook", "name": "Finance hook", "url": URL,
                                                  "secret": SECRET, "is_active": "on"})  # fmt: skip
    assert response.status_code == 302
    channel = Channel.objects.get(name="Finance hook")
    assert crypto.decrypt(channel.secret_encrypted) == SECRET
    stored = channel.secret_encrypted
    # Saved with the secret and URL left blank: both kept.
    response = client.post(f"/signals/channels/{channel.pk}/", {"name": "Finance webhook", "url": "", "secret": "",
                                                                "is_active": "on"})  # fmt: skip
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.name == "Finance webhook" and channel.secret_encrypted == stored
    assert crypto.decrypt(channel.url_encrypted) == URL
    client.post(f"/signals/channels/{channel.pk}/", {"name": "Finance webhook", "secret": "a-new-secret-0123456789",
                                                     "is_active": "on"})  # fmt: skip
    channel.refresh_from_db()
    assert crypto.decrypt(channel.secret_encrypted) == "a-new-secret-0123456789"
    # Unticking Active switches it off.
    client.post(f"/signals/channels/{channel.pk}/", {"name": "Finance webhook"})
    channel.refresh_from_db()
    assert not channel.is_active
    # A broken form answers 400 with the message, keeping the typed name but never the typed secret.
    response = client.post("/signals/channels/", {"kind": "webhook", "name": "Typed name", "url": URL,
                                                  "secret": "short-secret"})  # fmt: skip
    body = response.content.decode()
    assert response.status_code == 400 and "at least 16 characters" in body
    assert "Typed name" in body and "short-secret" not in body and "TOPSECRETPART" not in body


@pytest.mark.django_db
def test_send_test_over_htmx_says_queued_and_shows_the_delivery_row(
    org: Any, records: dict[str, int], client_for: Any
) -> None:
    client = client_for(org.ops)
    response = client.post(f"/signals/channels/{records['channel']}/test/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    delivery = Delivery.objects.filter(source="test").get()
    assert "Test message queued" in body and f'data-testid="delivery-{delivery.pk}"' in body
    assert 'data-status="pending"' in body and 'hx-trigger="every 2s"' in body  # it follows the delivery
    # The row refreshed after the attempt failed for good: failed, with the error and a Retry button.
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED, attempts=5, last_error="HTTP 500 boom")
    row = client.get(f"/signals/deliveries/{delivery.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert row.lstrip().startswith("{#") is False and "<tr" in row and "HTTP 500 boom" in row and "Retry" in row
    assert "every 2s" not in row
    # Without HTMX: back to the log filtered on the channel.
    response = client.post(f"/signals/channels/{records['channel']}/test/")
    assert response.status_code == 302 and response["Location"].endswith(f"?channel={records['channel']}")


@pytest.mark.django_db
def test_the_delivery_log_filters_by_channel_and_status_and_pages(org: Any, client_for: Any) -> None:
    a = services.channel_create(actor=org.ops, kind="email", name="List A", addresses=["a@example.com"])
    b = services.channel_create(actor=org.ops, kind="email", name="List B", addresses=["b@example.com"])
    for n in range(DELIVERIES_PER_PAGE + 3):
        services.channel_send(channel_id=a.pk, subject=f"A-{n:03}", text="", source="t")
    failed = services.channel_send(channel_id=b.pk, subject="B-failed", text="", source="t")
    Delivery.objects.filter(pk=failed).update(status=DeliveryStatus.FAILED, last_error="nope")
    client = client_for(org.ops)
    first = client.get(f"/signals/deliveries/?channel={a.pk}").content.decode()
    assert "B-failed" not in first and f"A-{DELIVERIES_PER_PAGE + 2:03}" in first and "A-000" not in first
    assert f"of {DELIVERIES_PER_PAGE + 3}" in first
    second = client.get(f"/signals/deliveries/?channel={a.pk}&page=2").content.decode()
    assert "A-000" in second
    only_failed = client.get("/signals/deliveries/?status=failed").content.decode()
    assert "B-failed" in only_failed and "A-001" not in only_failed
    # Unknown filters are ignored, not errors.
    assert client.get("/signals/deliveries/?status=bogus&channel=x&page=zz").status_code == 200


@pytest.mark.django_db
def test_retry_from_the_log(org: Any, records: dict[str, int], client_for: Any) -> None:
    client = client_for(org.ops)
    pk = records["delivery"]
    response = client.post(f"/signals/deliveries/{pk}/retry/", HTTP_HX_REQUEST="true")
    assert response.status_code == 400 and "only a failed one" in response.content.decode()
    Delivery.objects.filter(pk=pk).update(status=DeliveryStatus.FAILED, attempts=5)
    response = client.post(f"/signals/deliveries/{pk}/retry/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'data-status="pending"' in response.content.decode()
    delivery = Delivery.objects.get(pk=pk)
    assert delivery.status == DeliveryStatus.PENDING and delivery.max_attempts == 5 + services.MAX_ATTEMPTS


@pytest.mark.django_db
def test_delete_from_the_page(org: Any, records: dict[str, int], client_for: Any) -> None:
    client = client_for(org.ops)
    assert client.get(f"/signals/channels/{records['channel']}/delete/").status_code == 405
    response = client.post(f"/signals/channels/{records['channel']}/delete/")
    assert response.status_code == 302 and not Channel.objects.exists()
    assert Delivery.objects.get(pk=records["delivery"]).channel_name == "Hook"


# ------------------------------------------------------------------------------------------------------ API
@pytest.mark.django_db
def test_the_api_writes_through_the_services_and_never_returns_secrets(org: Any, api_client_for: Any) -> None:
    api = api_client_for(org.ops)
    response = api.post("/api/v1/signals/channels/", {"kind": "webhook", "name": "API hook", "url": URL,
                                                      "secret": SECRET, "team": org.manager_east.team_id},
                        format="json")  # fmt: skip
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["url_set"] is True and body["secret_set"] is True
    assert "url" not in body and "secret" not in body and "TOPSECRETPART" not in response.content.decode()
    pk = body["id"]
    listed = api.get("/api/v1/signals/channels/")
    assert "TOPSECRETPART" not in listed.content.decode() and SECRET not in listed.content.decode()
    response = api.patch(f"/api/v1/signals/channels/{pk}/", {"name": "API hook 2", "secret": ""}, format="json")
    assert response.status_code == 200 and response.json()["name"] == "API hook 2"
    assert crypto.decrypt(Channel.objects.get(pk=pk).secret_encrypted) == SECRET
    bad = api.post("/api/v1/signals/channels/", {"kind": "webhook", "name": "No secret", "url": URL}, format="json")
    assert bad.status_code == 400 and "secret" in bad.json()
    test = api.post(f"/api/v1/signals/channels/{pk}/test/")
    assert test.status_code == 202 and test.json()["status"] == "pending" and test.json()["source"] == "test"
    log = api.get(f"/api/v1/signals/deliveries/?channel={pk}&status=pending").json()
    assert [row["id"] for row in log["results"]] == [test.json()["id"]]
    assert api.get("/api/v1/signals/deliveries/?status=nope").json()["results"] == []
    retry = api.post(f"/api/v1/signals/deliveries/{test.json()['id']}/retry/")
    assert retry.status_code == 400
    assert api.delete(f"/api/v1/signals/channels/{pk}/").status_code == 204
    assert not Channel.objects.filter(pk=pk).exists()


@pytest.mark.django_db
def test_the_log_and_the_channel_page_name_the_source_in_words(org: Any, client_for: Any, api_client_for: Any) -> None:
    """Source reads "Notification: Period locked", "Rule: <its name>", "Test message", not the codes
    `notification:period_locked`, `rule:7`, `test` (the API keeps the codes)."""
    channel = services.channel_create(actor=org.ops, kind="webhook", name="Hook", url=URL, secret=SECRET)
    send = services.channel_send
    send(channel_id=channel.pk, subject="Q3 locked", text="", source="notification:period_locked")
    send(channel_id=channel.pk, subject="Fired", text="", source="notification:rule_fired")
    send(channel_id=channel.pk, subject="Big deal", text="", data={"rule": 7, "rule_name": "Deals over 100k"},
         source="rule:7")  # fmt: skip
    services.channel_send_test(actor=org.ops, channel_id=channel.pk)
    client = client_for(org.ops)
    for page in ("/signals/deliveries/", f"/signals/channels/{channel.pk}/"):
        body = client.get(page).content.decode()
        for words in ("Notification: Period locked", "Notification: Rule fired", "Rule: Deals over 100k",
                      "<td>Test message</td>"):  # fmt: skip
            assert words in body, (page, words)
        assert "notification:period_locked" not in body and "notification:rule_fired" not in body, page
        assert "rule:7" not in body, page
    sources = {d["source"] for d in api_client_for(org.ops).get("/api/v1/signals/deliveries/").json()["results"]}
    assert "notification:period_locked" in sources
