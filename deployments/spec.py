"""Load and check the deployments declared in `prefect.yaml`, and register them with a Prefect server.

Why check: a typo in an entrypoint, a parameter the flow does not take, or a bad cron string otherwise
surfaces only at 3 a.m. when the schedule fires; `vidscribe deployments-check` (and the tests) catch it.

Why register ourselves: `prefect deploy --all` of Prefect 3.8.8 creates the first deployment, then fails on
its "active workers" query (the server rejects the `limit: null` its own client sends, HTTP 422), so the
others are never created. `vidscribe deploy` registers exactly what `prefect.yaml` declares through the
client API, with the same pull step `prefect deploy` would add (run from this checkout).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from uuid import UUID

from prefect import Flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import DeploymentScheduleCreate
from prefect.client.schemas.objects import ConcurrencyOptions
from prefect.client.schemas.schedules import CronSchedule
from prefect.flows import load_flow_from_entrypoint

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class DeploymentSpec:
    name: str
    entrypoint: str
    description: str
    flow: Flow[..., Any]
    parameters: dict[str, Any]
    schedules: list[CronSchedule]
    schedules_active: list[bool]
    work_pool: str
    work_queue: str | None
    concurrency_limit: int | None


def check_parameters(name: str, flow: Flow[..., Any], parameters: dict[str, Any]) -> None:
    """Validate a deployment's default parameters against the flow's signature.

    Required parameters may be left out (a run supplies them, like ingest-video's source); unknown names and
    wrong types are errors.
    """
    schema = flow.parameters.model_dump(mode="json", by_alias=True, exclude_none=True)
    schema.update(required=[], additionalProperties=False)
    try:
        jsonschema.validate(parameters, schema)
    except jsonschema.ValidationError as exc:
        raise ValueError(f"deployment {name}: parameters {parameters} do not fit flow {flow.name}: "
                         f"{exc.message}") from None


def load_specs(prefect_yaml: Path = PROJECT_ROOT / "prefect.yaml") -> list[DeploymentSpec]:
    """Every deployment with its flow imported, its parameters validated and its schedules parsed."""
    document = yaml.safe_load(prefect_yaml.read_text())
    specs = []
    for entry in document["deployments"]:
        flow = load_flow_from_entrypoint(str(PROJECT_ROOT / entry["entrypoint"]))
        parameters = entry.get("parameters") or {}
        check_parameters(entry["name"], flow, parameters)
        raw_schedules = entry.get("schedules", [])
        limit = entry.get("concurrency_limit")
        specs.append(DeploymentSpec(
            name=entry["name"], entrypoint=entry["entrypoint"], description=entry.get("description", ""),
            flow=flow, parameters=parameters,
            schedules=[CronSchedule(cron=s["cron"], timezone=s.get("timezone")) for s in raw_schedules],
            schedules_active=[bool(s.get("active", True)) for s in raw_schedules],
            work_pool=entry["work_pool"]["name"], work_queue=entry["work_pool"].get("work_queue_name"),
            concurrency_limit=limit["limit"] if isinstance(limit, dict) else limit,
        ))
    return specs


def register(specs: list[DeploymentSpec], root: Path = PROJECT_ROOT) -> dict[str, UUID]:
    """Create or update each deployment on the current Prefect API; returns their ids by name."""
    ids = {}
    with get_client(sync_client=True) as client:
        for spec in specs:
            ids[spec.name] = client.create_deployment(
                flow_id=client.create_flow_from_name(spec.flow.name),
                name=spec.name,
                description=spec.description,
                entrypoint=spec.entrypoint,
                path=str(root),
                pull_steps=[{"prefect.deployments.steps.set_working_directory": {"directory": str(root)}}],
                work_pool_name=spec.work_pool,
                work_queue_name=spec.work_queue,
                parameters=spec.parameters,
                parameter_openapi_schema=spec.flow.parameters.model_dump(mode="json", by_alias=True),
                enforce_parameter_schema=True,
                schedules=[DeploymentScheduleCreate(schedule=schedule, active=active)
                           for schedule, active in zip(spec.schedules, spec.schedules_active, strict=True)],
                concurrency_limit=spec.concurrency_limit,
                concurrency_options=ConcurrencyOptions(collision_strategy="ENQUEUE")
                if spec.concurrency_limit else None,
            )
    return ids
