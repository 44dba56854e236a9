"""GraphQL over HTTP: methods, media types and status codes as the specification asks."""

from __future__ import annotations

import pytest

GR = "application/graphql-response+json"


async def test_get_runs_queries_with_json_variables(graph) -> None:
    response = await graph.client.get("/graphql", params={"query": "query($s: String!) { codes(system: $s) { code } }",
                                                          "variables": '{"s": "9060"}'})  # fmt: skip

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert {"code": "LE"} in response.json()["data"]["codes"]


async def test_get_refuses_mutations(graph) -> None:
    response = await graph.client.get("/graphql", params={"query": "mutation { __typename }"}, headers={"accept": GR})

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


@pytest.mark.parametrize(("accept", "media"), [(GR, GR), ("application/json", "application/json"),
                                               ("*/*", "application/json"), (None, "application/json"),
                                               (f"{GR};q=0.9, application/json;q=0.5", GR)])  # fmt: skip
async def test_accept_chooses_the_media_type(graph, accept, media) -> None:
    headers = {"content-type": "application/json"} | ({"accept": accept} if accept else {})

    response = await graph.client.post("/graphql", json={"query": "{ __typename }"}, headers=headers)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media)


async def test_unacceptable_media_type_is_406(graph) -> None:
    response = await graph.client.post("/graphql", json={"query": "{ __typename }"}, headers={"accept": "text/csv"})

    assert response.status_code == 406


@pytest.mark.parametrize("query", ["{", "{ nope }", "query($id: ID!) { __typename }"])
async def test_request_errors_are_400_without_data_in_graphql_response_json(graph, query) -> None:
    strict = await graph.client.post("/graphql", json={"query": query}, headers={"accept": GR})
    legacy = await graph.client.post("/graphql", json={"query": query}, headers={"accept": "application/json"})

    assert strict.status_code == 400
    assert "data" not in strict.json()
    assert strict.json()["errors"]
    assert legacy.status_code == 200
    assert legacy.json()["errors"]


@pytest.mark.parametrize(("body", "content_type", "status"), [
    (b"{not json", "application/json", 400), (b'{"query": 1}', "application/json", 400),
    (b'{"query": "{ __typename }", "variables": "x"}', "application/json", 400), (b"", "application/json", 400),
    (b'{"query": "{ __typename }"}', "text/plain", 415), (b"[]", "application/json", 400),
])  # fmt: skip
async def test_malformed_requests_get_4xx_and_a_reason(graph, body, content_type, status) -> None:
    response = await graph.client.post("/graphql", content=body, headers={"content-type": content_type})

    assert response.status_code == status
    assert response.json()["errors"][0]["message"]
