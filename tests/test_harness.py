"""What the fixtures promise, checked: a test that relies on them is only as
good as they are."""

from __future__ import annotations

import time
from datetime import timedelta

from tests.test_errors import assert_error


def test_the_anonymous_client_stays_anonymous_beside_an_authenticated_one(http, authed):
    assert authed.get("/v1/balance").status_code == 200
    response = http.get("/v1/balance")
    assert_error(response, 401, "unauthorized_request")
    assert "authorization" not in response.request.headers
    assert authed.get("/v1/balance").status_code == 200  # and the other keeps its token


def test_each_project_client_carries_only_its_own_token(live, authed, client_of):
    other = client_of(live.new_project(balance="7"))
    assert other.get("/v1/balance").json()["amount"] == 7
    assert authed.get("/v1/balance").json()["amount"] == 1000


def test_the_shared_server_runs_on_a_frozen_clock_without_a_sweep(live):
    before = live.clock.now()
    time.sleep(0.01)  # real time passes; the server's does not
    assert live.clock.now() == before
    assert live.clock.advance(2.5) - before == timedelta(seconds=2.5)
    assert live.context.settings.lifecycle.sweep_interval is None
