"""Money through the real HTTP stack: what resources cost, by the server's clock.

Expectations are computed here from the catalog, independently of the
server's billing code: a charge is the hourly rate times the elapsed time,
floored to 1e-12 of the currency.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

import httpx
import pytest

from tests.support.clusters import TYPE as CLUSTER_TYPE
from tests.support.clusters import cluster_body, give_back
from tests.support.clusters import deploy as deploy_cluster
from tests.support.live import TLS, fresh_clients
from tests.support.volumes import create as create_volume
from verda_server.billing import ledger
from verda_server.billing.follow import billed
from verda_server.billing.funds import set_balance
from verda_server.billing.models import Funding, LedgerEntry
from verda_server.projects.models import Project

# Capacity is shared by the session's server: what a test deployed goes with it.
pytestmark = pytest.mark.usefixtures("gives_back")

Q = Decimal("1e-12")
TYPE = "CPU.4V.16G"
MICROSECOND = timedelta(microseconds=1)


@pytest.fixture
def client_of(live, clients, http):
    """A raw client of the project's that keeps working however far the clock moves."""
    return fresh_clients(live, clients, http)


def balance(http) -> Decimal:
    response = http.get("/v1/balance")
    assert response.status_code == 200, response.text
    return Decimal(str(json.loads(response.text, parse_float=Decimal)["amount"]))


def cost(rate: Decimal, seconds: Decimal | float) -> Decimal:
    return (rate * Decimal(str(seconds)) / 3600).quantize(Q, rounding=ROUND_FLOOR)


def price(catalog, instance_type: str = TYPE, spot: bool = False) -> Decimal:
    spec = next(t for t in catalog.instance_types if t.instance_type == instance_type)
    return Decimal((spec.spot_price if spot else spec.price_per_hour).usd)


def volume_rate(catalog, volume_type: str, size: int) -> Decimal:
    spec = next(v for v in catalog.volume_types if v.type == volume_type)
    return (Decimal(str(spec.price_per_month_per_gb.usd)) * size / 730).quantize(Q)


def os_volume_rate(catalog, instance_type: str = TYPE) -> Decimal:
    spec = next(t for t in catalog.instance_types if t.instance_type == instance_type)
    return volume_rate(catalog, "NVMe", spec.default_os_volume_size)


def deploy(http, status: int = 202, **fields) -> str:
    body = {
        "instance_type": TYPE,
        "image": "ubuntu-24.04",
        "hostname": "billed",
        "description": "",
        "location_code": "FIN-01",
        **fields,
    }
    response = http.post("/v1/instances", json=body)
    assert response.status_code == status, response.text
    return response.text


def act(http, action: str, instance_id: str, **fields) -> None:
    response = http.put("/v1/instances", json={"action": action, "id": instance_id, **fields})
    assert response.status_code in (202, 204), response.text


def instance(http, instance_id: str) -> dict:
    response = http.get(f"/v1/instances/{instance_id}")
    assert response.status_code == 200, response.text
    return response.json()


def books(live, project_id: str) -> tuple[Decimal, Decimal, Decimal]:
    """Charge everything up to now in the store; answer (funded, charged, balance)."""
    with live.context.db.write() as session:
        billed(session, live.clock.now(), live.context.catalog)
        project = session.get(Project, project_id)
        ledger.charge_all(session, project, live.clock.now())
        session.flush()
        funded = sum(
            (f.amount for f in session.query(Funding).filter_by(project_id=project_id)),
            Decimal(0),
        )
        charged = sum(
            (e.amount for e in session.query(LedgerEntry).filter_by(project_id=project_id)),
            Decimal(0),
        )
        return funded, charged, project.balance


def test_a_read_seconds_after_a_deploy_already_shows_the_charge(live, client_of, catalog):
    http = client_of(live.new_project(balance="1000"))
    deploy(http)
    assert balance(http) == 1000
    live.clock.advance(5)
    rate = price(catalog), os_volume_rate(catalog)
    assert balance(http) == 1000 - cost(rate[0], 5) - cost(rate[1], 5)
    assert balance(http) < 1000


def test_ten_hours_cost_exactly_ten_hours_however_often_the_ledger_is_written(
    live, client_of, catalog
):
    credentials = live.new_project(balance="1000")
    http = client_of(credentials)
    deploy(http)
    hourly = price(catalog) + os_volume_rate(catalog)
    live.clock.advance(1234.567891)
    before = balance(http)
    for _ in range(10):
        live.clock.advance(3600)
        books(live, credentials.project_id)  # the ledger written every hour
    assert before - balance(http) == 10 * hourly
    funded, charged, held = books(live, credentials.project_id)
    assert funded == 1000 and held == funded - charged == balance(http)


def test_shut_down_instances_keep_costing_deleted_ones_and_the_trash_do_not(
    live, client_of, catalog
):
    http = client_of(live.new_project(balance="1000"))
    instance_id = deploy(http)
    live.clock.advance(5)  # running
    act(http, "shutdown", instance_id)
    hourly = price(catalog) + os_volume_rate(catalog)
    start = balance(http)
    live.clock.advance(3600)
    assert start - balance(http) == hourly  # shut down, charged all the same
    act(http, "delete", instance_id)  # the OS volume goes to the trash
    start = balance(http)
    live.clock.advance(10 * 3600)
    assert balance(http) == start


def test_a_volume_costs_outside_the_trash_only(live, client_of, catalog):
    http = client_of(live.new_project(balance="1000"))
    volume_id = create_volume(http, type="HDD", size=500)
    rate = volume_rate(catalog, "HDD", 500)
    body = http.get(f"/v1/volumes/{volume_id}").json()
    assert Decimal(str(body["base_hourly_cost"])) == rate
    live.clock.advance(7200)
    assert balance(http) == 1000 - 2 * rate
    assert http.put("/v1/volumes", json={"action": "delete", "id": volume_id}).status_code == 202
    live.clock.advance(7200)
    assert balance(http) == 1000 - 2 * rate  # the trash is free
    assert http.put("/v1/volumes", json={"action": "restore", "id": volume_id}).status_code == 202
    live.clock.advance(3600)
    assert balance(http) == 1000 - 3 * rate
    resized = {"action": "resize", "id": volume_id, "size": 1000}
    assert http.put("/v1/volumes", json=resized).status_code == 202
    live.clock.advance(3600)
    assert balance(http) == 1000 - 3 * rate - volume_rate(catalog, "HDD", 1000)
    gone = {"action": "delete", "id": volume_id, "is_permanent": True}
    assert http.put("/v1/volumes", json=gone).status_code == 202
    held = balance(http)
    live.clock.advance(10 * 3600)
    assert balance(http) == held


def test_a_deploy_the_balance_cannot_cover_for_an_hour_is_refused_and_creates_nothing(
    live, client_of, catalog
):
    hourly = price(catalog) + os_volume_rate(catalog)
    short = client_of(live.new_project(balance=str(hourly - Q)))
    refused = short.post(
        "/v1/instances",
        json={
            "instance_type": TYPE,
            "image": "ubuntu-24.04",
            "hostname": "poor",
            "description": "",
            "location_code": "FIN-01",
        },
    )
    assert refused.status_code == 402
    assert refused.json()["code"] == "insufficient_funds"
    assert "Insufficient funds" in refused.json()["message"]
    assert short.get("/v1/instances").json() == []
    assert short.get("/v1/volumes").json() == []
    assert balance(short) == hourly - Q
    enough = client_of(live.new_project(balance=str(hourly)))
    deploy(enough)  # exactly one hour's worth is enough


def test_new_volumes_of_a_deploy_count_towards_the_hour(live, client_of, catalog):
    hourly = price(catalog) + os_volume_rate(catalog) + volume_rate(catalog, "NVMe", 1000)
    http = client_of(live.new_project(balance=str(hourly - Q)))
    extra = [{"name": "data", "size": 1000, "type": "NVMe"}]
    deploy(http, status=402, volumes=extra)
    http = client_of(live.new_project(balance=str(hourly)))
    deploy(http, volumes=extra)


def test_volume_creation_and_clones_need_an_hour_of_funds(live, client_of, catalog):
    rate = volume_rate(catalog, "NVMe", 100)
    http = client_of(live.new_project(balance=str(rate - Q)))
    refused = http.post(
        "/v1/volumes", json={"type": "NVMe", "name": "v", "size": 100, "location_code": "FIN-01"}
    )
    assert refused.status_code == 402 and refused.json()["code"] == "insufficient_funds"
    assert http.get("/v1/volumes").json() == []
    http = client_of(live.new_project(balance=str(rate)))
    volume_id = create_volume(http, size=100)  # exactly an hour's worth
    live.clock.advance(MICROSECOND)  # a clone would no longer be covered
    clone = http.put("/v1/volumes", json={"action": "clone", "id": volume_id})
    assert clone.status_code == 402, clone.text
    assert [v["id"] for v in http.get("/v1/volumes").json()] == [volume_id]


def test_when_the_money_runs_out_instances_shut_down_and_deploys_are_refused(
    live, client_of, catalog
):
    hourly = price(catalog) + os_volume_rate(catalog)
    credentials = live.new_project(balance=str(hourly))  # exactly one hour
    http = client_of(credentials)
    instance_id = deploy(http)
    live.clock.advance(3600 - 0.000001)
    assert instance(http, instance_id)["status"] == "running"
    live.clock.advance(MICROSECOND)
    assert balance(http) == 0
    shut = instance(http, instance_id)
    assert shut["status"] == "offline"
    assert shut["os_volume_id"] and shut["volume_ids"] == [shut["os_volume_id"]]
    volume = http.get(f"/v1/volumes/{shut['os_volume_id']}").json()
    assert volume["status"] == "attached"
    deploy(http, status=402)
    # Shut down, it keeps costing: the balance goes below zero.
    live.clock.advance(3600)
    assert balance(http) == -hourly
    with live.context.db.write() as session:
        project = session.get(Project, credentials.project_id)
        set_balance(session, project, live.clock.now(), Decimal(100))
    assert balance(http) == 100
    deploy(http)
    funded, charged, held = books(live, credentials.project_id)
    assert funded == 100 + hourly + hourly  # the top-up covered what was owed
    assert held == funded - charged == 100


def test_the_books_balance_after_a_long_random_run(live, client_of):
    """Whatever happens, the balance is the money put in less the ledger."""
    credentials = live.new_project(balance="5000")
    http = client_of(credentials)
    rng = random.Random(7)
    instances: list[str] = []
    volumes: list[str] = []
    for _ in range(60):
        step = rng.choice(["deploy", "delete", "volume", "trash", "restore", "resize", "wait"])
        if step == "deploy" and len(instances) < 4:
            instances.append(deploy(http, is_spot=rng.random() < 0.3))
        elif step == "delete" and instances:
            live.clock.advance(4)  # past provisioning
            act(http, "delete", instances.pop(rng.randrange(len(instances))))
        elif step == "volume":
            volumes.append(create_volume(http, size=rng.randint(1, 2000), type="HDD"))
        elif step in ("trash", "restore", "resize") and volumes:
            fields = {"size": 2001 + rng.randint(0, 100)} if step == "resize" else {}
            action = "delete" if step == "trash" else step
            http.put("/v1/volumes", json={"action": action, "id": rng.choice(volumes), **fields})
        live.clock.advance(rng.choice([0.001, 1, 59.5, 3600, 86400 * rng.random()]))
        if rng.random() < 0.2:
            funded, charged, held = books(live, credentials.project_id)
            assert held == funded - charged == balance(http)
    funded, charged, held = books(live, credentials.project_id)
    assert charged > 0
    assert held == funded - charged == balance(http)


def test_a_coupon_lowers_the_price_the_instance_reports_and_is_billed(live, client_of, catalog):
    http = client_of(live.new_project(balance="1000"))
    instance_id = deploy(http, coupon="COUPON-CODE-2026")
    discounted = price(catalog) * Decimal("0.9")
    body = instance(http, instance_id)
    assert Decimal(str(body["price_per_hour"])) == discounted
    assert body["coupon"] == "COUPON-CODE-2026"
    live.clock.advance(3600)
    assert balance(http) == 1000 - discounted - os_volume_rate(catalog)
    h100 = deploy(http, coupon="WELCOME-H100", instance_type="1H100.80S.30V")
    body = instance(http, h100)
    assert Decimal(str(body["price_per_hour"])) == price(catalog, "1H100.80S.30V") - Decimal("0.25")


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"coupon": "NO-SUCH-COUPON"}, "NO-SUCH-COUPON"),
        ({"coupon": "WELCOME-H100"}, "WELCOME-H100"),
    ],
)
def test_a_coupon_that_does_not_apply_is_refused_by_name(live, client_of, fields, named):
    http = client_of(live.new_project())
    response = http.post(
        "/v1/instances",
        json={
            "instance_type": TYPE,
            "image": "ubuntu-24.04",
            "hostname": "c",
            "description": "",
            "location_code": "FIN-01",
            **fields,
        },
    )
    assert response.status_code == 400
    assert named in response.json()["message"]
    assert http.get("/v1/instances").json() == []


def test_a_long_term_contract_bills_its_discount_until_its_end_then_pay_as_you_go(
    live, client_of, catalog
):
    http = client_of(live.new_project(balance="1000"))
    payg = price(catalog)
    discounted = payg * Decimal("0.95")  # 1 week: 5 % in the packaged catalog
    instance_id = deploy(http, contract="LONG_TERM", long_term_period="1_WEEK")
    created = live.clock.now()
    body = instance(http, instance_id)
    assert body["contract"] == "LONG_TERM"
    assert Decimal(str(body["price_per_hour"])) == discounted
    term = body["long_term"]
    end = created + timedelta(weeks=1)
    assert term["end_date"] == end.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert term["long_term_period"] == "1 week"
    assert term["discount_percentage"] == 5
    assert Decimal(str(term["current_period_price"])) == discounted * 168
    assert Decimal(str(term["next_period_price"])) == payg * 168
    os_rate = os_volume_rate(catalog)
    live.clock.advance(timedelta(weeks=1) - MICROSECOND)
    assert instance(http, instance_id)["contract"] == "LONG_TERM"
    live.clock.advance(MICROSECOND + timedelta(hours=2))
    assert balance(http) == 1000 - 168 * discounted - 2 * payg - 170 * os_rate
    after = instance(http, instance_id)
    assert after["contract"] == "PAY_AS_YOU_GO"
    assert Decimal(str(after["price_per_hour"])) == payg
    assert after["long_term"] is None


def test_a_long_term_contract_needs_a_known_period(live, client_of):
    http = client_of(live.new_project())
    for fields, fragment in (
        ({"contract": "LONG_TERM"}, "needs a period"),
        ({"contract": "LONG_TERM", "long_term_period": "9_YEARS"}, "9_YEARS"),
        ({"long_term_period": "1_WEEK"}, "only a LONG_TERM contract"),
    ):
        response = http.post(
            "/v1/instances",
            json={
                "instance_type": TYPE,
                "image": "ubuntu-24.04",
                "hostname": "lt",
                "description": "",
                "location_code": "FIN-01",
                **fields,
            },
        )
        assert response.status_code == 400, fields
        assert fragment in response.json()["message"]


def test_a_store_from_before_billing_keeps_its_balance_exactly_and_bills_from_then(
    empty_database_url, catalog
):
    """0009 turns the balance exact, books it as the opening amount, and the first
    start opens meters for what the store already held."""
    from alembic import command
    from sqlalchemy import create_engine, text

    from tests.support.live import Credentials, start_live_server
    from verda_server.projects.service import add_credential
    from verda_server.storage.migrate import alembic_config

    when = datetime(2026, 1, 1, tzinfo=UTC)
    engine = create_engine(empty_database_url)
    try:
        with engine.connect() as connection:
            command.upgrade(alembic_config(connection), "0005")
            connection.execute(
                text(
                    "INSERT INTO projects (id, name, balance, currency, is_default, created_at) "
                    "VALUES ('p', 'p', 123.456789, 'usd', :no, :when)"
                ),
                {"no": False, "when": when},
            )
            connection.execute(
                text(
                    "INSERT INTO volumes (id, project_id, name, size, type, location, status, "
                    "is_os_volume, contract, pseudo_path, on_spot_discontinue, created_at, "
                    "is_permanently_deleted) VALUES ('v', 'p', 'old', 100, 'HDD', 'FIN-01', "
                    "'detached', :no, 'PAY_AS_YOU_GO', 'volume-old', 'keep_detached', :when, :no)"
                ),
                {"no": False, "when": when},
            )
            connection.commit()
    finally:
        engine.dispose()
    with start_live_server(empty_database_url) as server:
        with server.context.db.write() as session:
            client_id, secret = add_credential(session, server.clock, "p")
        with httpx.Client(verify=TLS, base_url=server.base_url) as client:
            credentials = Credentials("p", client_id, secret)
            token = credentials.access_token(client)
            client.headers["Authorization"] = f"Bearer {token}"
            assert balance(client) == Decimal("123.456789")
            server.clock.advance(3599)  # within the token's hour
            assert balance(client) == Decimal("123.456789") - cost(
                volume_rate(catalog, "HDD", 100), 3599
            )
        with server.context.db.read() as session:
            openings = session.query(Funding).filter_by(project_id="p").all()
            assert [(f.kind, f.amount) for f in openings] == [("opening", Decimal("123.456789"))]


def test_an_eviction_stops_the_billing_at_its_instant(live, client_of, catalog):
    from verda_server.instances import eviction
    from verda_server.instances.models import Instance

    http = client_of(live.new_project(balance="1000"))
    instance_id = deploy(
        http,
        is_spot=True,
        os_volume={"name": "os", "size": 50, "on_spot_discontinue": "move_to_trash"},
    )
    deployed = live.clock.now()
    live.clock.advance(7200)
    with live.context.db.write() as session:
        billed(session, live.clock.now(), live.context.catalog)
        row = session.get(Instance, instance_id)
        eviction.evict(session, deployed + timedelta(hours=1), live.context.lifecycle.current, row)
    spent = price(catalog, spot=True) + volume_rate(catalog, "NVMe", 50)
    assert balance(http) == 1000 - spent  # one hour of each, not two
    live.clock.advance(7200)
    assert balance(http) == 1000 - spent


@pytest.fixture
def clusters_back(live):
    yield
    give_back(live)


def cluster_price(catalog) -> Decimal:
    spec = next(t for t in catalog.cluster_types if t.cluster_type == CLUSTER_TYPE)
    return Decimal(spec.price_per_hour.usd)


def test_a_cluster_costs_until_discontinued_its_volume_until_deleted(
    live, client_of, catalog, clusters_back
):
    http = client_of(live.new_project(balance="5000"))
    cluster_id = deploy_cluster(http)
    assert Decimal(str(http.get(f"/v1/clusters/{cluster_id}").json()["price_per_hour"])) == (
        cluster_price(catalog)
    )
    home = volume_rate(catalog, "NVMe_Shared_Cluster", 1000)
    live.clock.advance(3600)
    assert balance(http) == 5000 - cluster_price(catalog) - home
    gone = {"action": "discontinue", "id": cluster_id}
    assert http.put("/v1/clusters", json=gone).status_code == 202
    live.clock.advance(3600)  # the detached /home volume still costs
    assert balance(http) == 5000 - cluster_price(catalog) - 2 * home


def test_a_cluster_the_balance_cannot_cover_for_an_hour_is_refused(
    live, client_of, catalog, clusters_back
):
    hourly = cluster_price(catalog) + volume_rate(catalog, "NVMe_Shared_Cluster", 1000)
    http = client_of(live.new_project(balance=str(hourly - Q)))
    refused = http.post("/v1/clusters", json=cluster_body())
    assert refused.status_code == 402 and refused.json()["code"] == "insufficient_funds"
    assert http.get("/v1/clusters").json() == [] and http.get("/v1/volumes").json() == []
    deploy_cluster(client_of(live.new_project(balance=str(hourly))))


def test_when_the_money_runs_out_a_cluster_is_discontinued_and_its_volume_kept(
    live, client_of, catalog, clusters_back
):
    hourly = cluster_price(catalog) + volume_rate(catalog, "NVMe_Shared_Cluster", 1000)
    http = client_of(live.new_project(balance=str(hourly)))
    cluster_id = deploy_cluster(http)
    live.clock.advance(3600 - 0.000001)
    assert http.get(f"/v1/clusters/{cluster_id}").json()["status"] == "running"
    live.clock.advance(MICROSECOND)
    cluster = http.get(f"/v1/clusters/{cluster_id}").json()
    assert cluster["status"] == "discontinued"
    (volume,) = http.get("/v1/volumes").json()
    assert volume["status"] == "detached" and volume["type"] == "NVMe_Shared_Cluster"
    assert http.post("/v1/clusters", json=cluster_body()).status_code == 402


def test_operators_set_a_balance_and_the_books_say_so(tmp_path):
    from tests.support import cli

    store = ["--data-dir", str(tmp_path)]
    created = cli.invoke("projects", "create", "--balance", "10", *store)
    assert created.exit_code == 0, created.output
    project_id = created.output.split()[1]
    topped = cli.invoke("projects", "set-balance", project_id, "250.5", *store)
    assert topped.exit_code == 0, topped.output
    assert "balance 250.5 usd (+240.5)" in topped.output
    lowered = cli.invoke("projects", "set-balance", project_id, "200", *store)
    assert "(-50.5)" in lowered.output
    listed = cli.invoke("projects", "list", *store).output
    assert f"{project_id}  200.00 usd" in listed
    assert cli.invoke("projects", "set-balance", project_id, "-1", *store).exit_code == 2
    assert cli.invoke("projects", "set-balance", project_id, "1e-13", *store).exit_code == 2
    assert cli.invoke("projects", "set-balance", project_id, "NaN", *store).exit_code == 2
    unknown = cli.invoke("projects", "set-balance", "nope", "5", *store)
    assert unknown.exit_code == 1 and "not found" in unknown.output
    from verda_server.storage.database import Database

    db = Database(f"sqlite:///{tmp_path / 'verda.db'}")
    with db.read() as session:
        kinds = sorted(
            (f.kind, f.amount) for f in session.query(Funding).filter_by(project_id=project_id)
        )
        assert kinds == [
            ("adjustment", Decimal("-50.5")),
            ("opening", Decimal("10")),
            ("top_up", Decimal("240.5")),
        ]
    db.dispose()


def test_a_coupon_is_good_until_the_instant_it_expires():
    from verda_server.api.errors import ApiError
    from verda_server.billing.pricing import with_coupon
    from verda_server.catalog.service import Catalog
    from verda_server.catalog.source import load_source

    source = load_source()
    ends = datetime(2027, 3, 1, tzinfo=UTC)
    data = source.model_dump()
    data["coupons"] = [{"code": "LATE", "percent_off": 50, "expires_at": ends}]
    catalog = Catalog(type(source).model_validate(data))
    assert with_coupon(catalog, "LATE", TYPE, Decimal("2.00"), "usd", ends - MICROSECOND) == 1
    with pytest.raises(ApiError) as expired:
        with_coupon(catalog, "LATE", TYPE, Decimal("2.00"), "usd", ends)
    assert expired.value.status == 400 and "LATE" in expired.value.message


@pytest.mark.parametrize(
    ("coupon", "problem"),
    [
        (
            {"code": "BOTH", "percent_off": 5, "amount_off_per_hour": {"usd": "1", "eur": "1"}},
            "exactly one",
        ),
        ({"code": "NONE"}, "exactly one"),
        ({"code": "NAIVE", "percent_off": 5, "expires_at": "2027-01-01T00:00:00"}, "time zone"),
        ({"code": "WHO", "percent_off": 5, "instance_types": ["9X9.1V"]}, "9X9.1V"),
        ({"code": "TOO", "percent_off": 101}, "percent_off"),
    ],
)
def test_a_bad_coupon_stops_start_up_naming_it(tmp_path, coupon, problem):
    import yaml

    from verda_server.catalog.source import CatalogError, load_source

    data = load_source().model_dump(mode="json", exclude_none=True)
    data["coupons"] = [coupon]
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(CatalogError) as raised:
        load_source(path)
    assert problem in str(raised.value)


def _meter_reads(live, work) -> int:
    from sqlalchemy import event

    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM meters" in statement:
            seen.append(statement)

    engine = live.context.db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        work()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return len(seen)


def test_a_bulk_action_reads_the_meters_once_per_instance_at_most(live, client_of):
    """Each id of a bulk action is its own savepoint, whose flushes (the instance,
    then its volumes) read their meters; nothing more: the next billing instant
    is computed once, at the end, not per savepoint."""
    http = client_of(live.new_project(balance="1000"))

    def delete(count: int) -> int:
        ids = [deploy(http) for _ in range(count)]
        live.clock.advance(4)  # running
        body = {"action": "delete", "id": ids}
        return _meter_reads(live, lambda: http.put("/v1/instances", json=body))

    one, six = delete(1), delete(6)
    assert six - one <= 2 * 5
