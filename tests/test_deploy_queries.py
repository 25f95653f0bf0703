"""A deploy's reads of the store: the same statements however many instances
the store holds, each answered off an index alone (no table walked, no row of
another location, type or project read).

The server runs in this process, so its engine's statements can be watched.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml

from tests.support.live import TLS, start_live_server
from tests.support.statements import Statement, watched
from tests.support.volumes import deploy
from tests.test_errors import assert_error
from tests.test_instances import BOOT, act
from tests.test_read_queries import plan
from verda_server.catalog.source import load_source

BODY = {"instance_type": "CPU.4V.16G", "location_code": "FIN-01"}
# Each of the deploy's growing reads, by what its text holds (all of it), with the indexes
# that must answer it.
READS = {
    "quotas": (
        ("FROM projects", "count("),
        ("ix_instances_project_list", "ix_volumes_project_status"),
    ),
    "capacity": (("instances.instance_type = ",), ("ix_instances_capacity",)),
    "address": (
        ("ip_number",),
        ("ix_instances_location_ip_number", "ix_clusters_location_ip_number"),
    ),
}


def _deploy_reads(live, client) -> list[Statement]:
    with watched(live) as seen:
        deploy(client, **BODY)
    return [(text, params) for text, params in seen if text.lstrip().startswith("SELECT")]


def _read(reads: list[Statement], name: str) -> Statement:
    markers = READS[name][0]
    [found] = [(text, params) for text, params in reads if all(m in text for m in markers)]
    return found


@pytest.mark.usefixtures("gives_back")
def test_a_deploy_reads_the_same_whatever_the_store_holds(live, authed, client_of) -> None:
    deploy(authed, **BODY)  # the project's first deploy is behind us
    few = [text for text, _ in _deploy_reads(live, authed)]
    other = client_of(live.new_project(balance="100000"))
    for location in ("FIN-01", "FIN-01", "FIN-02", "ICE-01"):
        deploy(other, location=location)
    many = [text for text, _ in _deploy_reads(live, authed)]
    assert many == few


@pytest.mark.usefixtures("gives_back")
def test_the_deploys_growing_reads_are_answered_by_index_alone(live, authed) -> None:
    deploy(authed, **BODY)
    reads = _deploy_reads(live, authed)
    for name, (_, indexes) in READS.items():
        text, params = _read(reads, name)
        found = plan(live, text, params)
        assert "Seq Scan" not in found, (name, found)
        if live.context.db.engine.dialect.name == "postgresql":
            # PostgreSQL picks among the indexes by the rows there are: with the
            # suite's few, any index will do (bench/deploy_cost.py --plans shows
            # its choice in a store of 100 000).
            assert "Bitmap Heap Scan" not in found, (name, found)
            continue
        for index in indexes:
            assert index in found, (name, index, found)
        for line in found.splitlines():
            # Scans of the statement's own subqueries; the one project row by key.
            if line.startswith("SCAN"):
                own = ("CONSTANT", "candidate", "found", "anon_1")
                assert line.split()[1] in own, (name, found)
            elif line.startswith("SEARCH") and " projects " not in line:
                assert "COVERING INDEX" in line, (name, line, found)
        assert "TEMP B-TREE FOR GROUP BY" not in found, (name, found)


@pytest.mark.usefixtures("gives_back")
def test_the_due_check_seeks_the_projects_due_rows(live, authed) -> None:
    """Whether anything of the project is due is found by seeking its instances
    and volumes by due instant (index 0020), not by reading every one it holds:
    before, a deploy into a project of a thousand instances read them all."""
    deploy(authed, **BODY)
    [(text, params)] = [r for r in _deploy_reads(live, authed) if r[0].startswith("SELECT (EXISTS")]
    found = plan(live, text, params)
    assert "Seq Scan" not in found, found
    if live.context.db.engine.dialect.name == "postgresql":
        return  # with the suite's few rows any index will do (see above)
    for table in ("instances", "volumes"):
        index = f"ix_{table}_project_due"
        assert f"SEARCH {table} USING INDEX {index} (project_id=? AND due_at>? AND due_at<?)" in (
            found
        ), found


def test_the_lowest_free_address_goes_first_in_address_order(empty_database_url, tmp_path: Path):
    """By number, not by text (which puts 100.64.0.10 before 100.64.0.2)."""
    data = load_source().model_dump(mode="json")
    data["locations"][0]["public_ip_pool"] = "100.64.0.0/28"  # .1 to .14
    location = data["locations"][0]["code"]
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(data))
    with start_live_server(empty_database_url, catalog_path=path) as server:
        creds = server.new_project()
        with httpx.Client(verify=TLS, base_url=server.base_url) as client:
            client.headers["Authorization"] = f"Bearer {creds.access_token(client)}"

            def addresses(ids: list[str]) -> list[str]:
                server.clock.advance(BOOT)
                return [client.get(f"/v1/instances/{i}").json()["ip"] for i in ids]

            made = [deploy(client, location=location) for _ in range(11)]
            assert addresses(made) == [f"100.64.0.{n}" for n in range(1, 12)]
            for gone in (made[9], made[1]):
                assert act(client, "delete", gone).status_code == 202
            again = [deploy(client, location=location) for _ in range(5)]
            assert addresses(again) == [f"100.64.0.{n}" for n in (2, 10, 12, 13, 14)]
            full = client.post(
                "/v1/instances",
                json={
                    "instance_type": "CPU.4V.16G",
                    "image": "ubuntu-24.04",
                    "hostname": "h",
                    "description": "",
                    "location_code": location,
                },
            )
            assert "No public address" in assert_error(full, 503, "service_unavailable")
