"""Statistics, kinds, pipelines, connections, health and Prometheus metrics."""

from __future__ import annotations

from apihelp import Client, finished
from prometheus_client.parser import text_string_to_metric_families


def run_some(client: Client) -> list[str]:
    ids = []
    for params, env in [
        ({"n": 3, "sleep": 0}, "a"),
        ({"n": 2, "sleep": 0, "fail": [0, 1]}, "a"),
        ({"n": 4, "sleep": 0, "fail": [3]}, "b"),
    ]:
        ids.append(
            client.post("/api/jobs", json={"kind": "slow", "params": params, "env": env}).json()[
                "id"
            ]
        )
    for job_id in ids:
        client.wait_job(job_id, finished)
    return ids


def test_statistics(client: Client) -> None:
    run_some(client)
    stats = client.get("/api/statistics").json()
    assert stats["total"] == 3
    assert stats["by_status"] == {"completed": 1, "failed": 1, "partial": 1}
    assert stats["by_kind"] == {"slow": 3} and stats["by_env"] == {"a": 2, "b": 1}
    assert stats["success_rate"] == round(1 / 3, 4)
    assert stats["duration_p50_s"] is not None and stats["duration_p95_s"] >= 0
    throughput = stats["throughput"]
    assert throughput["jobs_finished"] == 3 and throughput["items_done"] == 3 + 0 + 3
    assert throughput["jobs_per_hour"] == round(3 / 24, 3)
    only_b = client.get("/api/statistics", params={"env": "b"}).json()
    assert only_b["total"] == 1 and only_b["by_status"] == {"partial": 1}


def test_kinds_carry_the_json_schema_of_their_params(client: Client) -> None:
    kinds = {k["name"]: k for k in client.get("/api/kinds").json()}
    assert {"slow", "generate", "batch", "migrate"} <= set(kinds)
    schema = kinds["slow"]["params"]
    assert schema["properties"]["n"]["type"] == "integer"
    assert schema["properties"]["fail"]["type"] == "array"
    assert "settings" not in kinds["generate"]["params"]["properties"]
    assert "dataset" in kinds["generate"]["params"]["required"]
    assert client.get("/api/kinds/slow").json() == kinds["slow"]
    assert client.get("/api/kinds/nope").status_code == 404


def test_pipelines_connections_and_health(client: Client) -> None:
    pipelines = {p["name"]: p for p in client.get("/api/pipelines").json()}
    assert set(pipelines) == {"quick", "other"}
    assert pipelines["quick"]["params"] == {"n": 3, "sleep": 0.01}
    assert pipelines["quick"]["path"] == "pipelines/quick.yaml"
    connections = {c["name"]: c for c in client.get("/api/connections").json()}
    assert connections["warehouse"]["backend"] == "sqlite"
    assert connections["reporting"]["backend"] == "postgresql"
    health = client.get("/api/health").json()
    assert health["status"] == "ok" and health["store"] == "ok"


def test_metrics_in_prometheus_format(client: Client) -> None:
    run_some(client)
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }
    assert samples[("batchyard_jobs", (("kind", "slow"), ("status", "partial")))] == 1
    assert samples[("batchyard_jobs", (("kind", ""), ("status", "running")))] == 0
    assert samples[("batchyard_items_total", (("outcome", "done"),))] == 6
    assert samples[("batchyard_items_total", (("outcome", "failed"),))] == 3
    assert samples[("batchyard_rows_total", (("direction", "written"),))] == 6
    assert ("batchyard_job_duration_seconds", (("quantile", "0.95"),)) in samples


def test_openapi_document_and_interactive_docs(client: Client) -> None:
    spec = client.get("/api/openapi.json").json()
    assert spec["info"]["title"] == "batchyard"
    create = spec["paths"]["/api/jobs"]["post"]
    assert set(create["responses"]) >= {"201", "400", "401", "404", "409", "422", "503"}
    assert "application/problem+json" in create["responses"]["400"]["content"]
    body = spec["components"]["schemas"]["JobCreate"]
    assert body["properties"]["params"]["examples"]
    assert (
        "text/event-stream"
        in (spec["paths"]["/api/jobs/{job_id}/events"]["get"]["responses"]["200"]["content"])
    )
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
