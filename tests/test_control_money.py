"""A project's balance through the control API: set or topped up exactly,
booked in the ledger, and what GET /v1/balance answers agrees."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.live import LiveServer
from tests.support.tokens import bearer
from tests.test_control_projects import PROJECTS, create, credentials_of, error


@pytest.fixture
def funded(live: LiveServer, http: httpx.Client) -> tuple[str, str]:
    """A new project with 100 usd: its id and a token of it (made directly:
    creating projects through the control API is test_control_projects')."""
    creds = live.new_project(balance="100")
    return creds.project_id, creds.access_token(http)


def public_balance(http: httpx.Client, token: str) -> str:
    response = http.get("/v1/balance", headers=bearer(token))
    assert response.status_code == 200
    return response.text


def change(admin: httpx.Client, project_id: str, raw: str) -> dict[str, Any]:
    response = admin.post(
        f"{PROJECTS}/{project_id}/balance",
        content=raw,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_set_and_top_up_exactly(
    live: LiveServer, admin: httpx.Client, http: httpx.Client, funded: tuple[str, str]
) -> None:
    project_id, token = funded
    live.tick()  # the ledger lists newest first: one instant each
    # A number with more digits than a float holds stays exact.
    body = change(admin, project_id, '{"amount": 123456789.123456789012}')
    assert body["amount"] == "123456789.123456789012"
    assert public_balance(http, token) == '{"amount":123456789.123456789012,"currency":"usd"}'
    live.tick()
    body = change(admin, project_id, '{"top_up": "0.000000000988"}')
    assert body["amount"] == "123456789.12345679"
    assert public_balance(http, token) == '{"amount":123456789.12345679,"currency":"usd"}'
    live.tick()
    body = change(admin, project_id, '{"amount": "0.5"}')
    assert body["amount"] == "0.5"
    assert [(e["kind"], e["amount"]) for e in body["entries"]] == [
        ("adjustment", "-123456788.62345679"),
        ("top_up", "0.000000000988"),
        ("top_up", "123456689.123456789012"),
        ("opening", "100"),
    ]
    live.tick()
    assert change(admin, project_id, '{"top_up": 2}')["amount"] == "2.5"
    read = admin.get(f"{PROJECTS}/{project_id}/balance").json()
    assert (read["project_id"], read["amount"], read["currency"]) == (project_id, "2.5", "usd")
    assert read["entries"][0]["kind"] == "top_up" and read["entries"][0]["amount"] == "2"
    assert admin.get(f"{PROJECTS}/{project_id}").json()["balance"] == "2.5"


def test_charges_are_booked_before_a_change(
    live: LiveServer, admin: httpx.Client, http: httpx.Client, funded: tuple[str, str]
) -> None:
    project_id, token = funded
    deployed = http.post(
        "/v1/volumes",
        headers=bearer(token),
        json={"type": "HDD", "name": "v", "size": 100, "location_code": "FIN-01"},
    )
    assert deployed.status_code == 202, deployed.text
    live.clock.advance(7200)
    before = admin.get(f"{PROJECTS}/{project_id}/balance").json()
    assert before["amount"] != "100"
    body = change(admin, project_id, '{"top_up": "10"}')
    spent = 100 - float(before["amount"])
    assert float(body["amount"]) == pytest.approx(110 - spent)
    charges = [e for e in body["entries"] if e["kind"] == "charge"]
    assert charges and all(e["resource_id"] == deployed.text for e in charges)
    assert all(e["amount"].startswith("-") for e in charges)


def test_a_project_out_of_money_deploys_again_after_a_top_up(
    admin: httpx.Client, http: httpx.Client
) -> None:
    creds = credentials_of(create(admin, balance="0"))
    token = creds.access_token(http)
    volume = {"type": "HDD", "name": "v", "size": 10, "location_code": "FIN-01"}
    refused = http.post("/v1/volumes", headers=bearer(token), json=volume)
    error(refused, 402, "insufficient_funds")
    change(admin, creds.project_id, '{"top_up": "5"}')
    assert http.post("/v1/volumes", headers=bearer(token), json=volume).status_code == 202


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{}", "give exactly one of amount and top_up"),
        ('{"amount": "1", "top_up": "1"}', "give exactly one of amount and top_up"),
        ('{"amount": "-0.01"}', "amount: must be a number from 0"),
        ('{"amount": "1000000000000"}', "amount: must be a number from 0 to below"),
        ('{"amount": "1.0000000000001"}', "amount: has more than 12 decimal places"),
        ('{"amount": 1.0000000000001}', "amount: has more than 12 decimal places"),
        ('{"amount": "NaN"}', "amount"),
        ('{"amount": "ten"}', "amount"),
        ('{"amount": true}', "amount"),
        ('{"top_up": "0"}', "top_up: must be a number above 0"),
        ('{"top_up": -5}', "top_up"),
        ('{"top_up": "999999999999"}', "top_up: the balance 100 would reach"),
        ('{"set": "5"}', "set"),
        ("[1]", "body"),
        ("{not json", "Malformed JSON"),
    ],
)
def test_bad_changes_change_nothing(
    admin: httpx.Client,
    http: httpx.Client,
    funded: tuple[str, str],
    raw: str,
    message: str,
) -> None:
    project_id, token = funded
    response = admin.post(
        f"{PROJECTS}/{project_id}/balance",
        content=raw,
        headers={"content-type": "application/json"},
    )
    assert message in error(response, 400, "invalid_request")
    assert public_balance(http, token) == '{"amount":100,"currency":"usd"}'
