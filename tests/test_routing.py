"""Routes analysed on first use (api/routing.py) behave as FastAPI's own."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from verda_server.api.routing import LazyRoute, add_routes, lazy_router


class Thing(BaseModel):
    name: str
    size: int


def _router() -> tuple[APIRouter, LazyRoute]:
    router = lazy_router(prefix="/things", tags=["Things"])

    @router.post("/{thing_id}", response_model=Thing, status_code=201)
    def make(thing_id: int, body: Thing) -> Thing:
        return Thing(name=f"{body.name}-{thing_id}", size=body.size)

    (route,) = router.routes
    assert isinstance(route, LazyRoute)
    return router, route


def test_a_route_is_analysed_on_its_first_request_and_answers_as_declared():
    router, route = _router()
    app = FastAPI()
    add_routes(app, router)
    assert not route.analysed
    with TestClient(app) as client:
        made = client.post("/things/7", json={"name": "a", "size": 2})
        assert route.analysed
        assert made.status_code == 201
        assert made.json() == {"name": "a-7", "size": 2}
        assert client.post("/things/x", json={"name": "a", "size": 2}).status_code == 422
        assert client.get("/things/7").status_code == 405


def test_a_copy_left_out_of_the_document_stays_out_once_analysed():
    router, route = _router()
    app = FastAPI()
    add_routes(app, router, include_in_schema=False)
    (copy,) = [r for r in app.routes if isinstance(r, LazyRoute)]
    assert copy is not route
    assert copy.response_model is Thing  # analysed now
    assert copy.include_in_schema is False
    assert route.include_in_schema is True
    assert "/things/{thing_id}" not in app.openapi()["paths"]
    documented = FastAPI()
    documented.include_router(router)
    assert "/things/{thing_id}" in documented.openapi()["paths"]


def test_a_path_is_compiled_when_matched_against_without_an_analysis():
    router, route = _router()
    assert "path_regex" not in vars(route)
    # What matching asks for: the pattern, and no analysis of the route.
    assert route.path_regex.match("/things/7")
    assert route.path_format == "/things/{thing_id}"
    assert set(route.param_convertors) == {"thing_id"}
    assert not route.analysed
    app = FastAPI()
    add_routes(app, router)
    with TestClient(app) as client:
        assert client.post("/things/7", json={"name": "a", "size": 2}).status_code == 201
    assert route.analysed
    assert route.path_regex.match("/things/8")
