"""Load and check the deployments declared in `prefect.yaml` without deploying anything.

Why: a typo in an entrypoint, a parameter the flow does not take, or a bad cron string otherwise surfaces
only at 3 a.m. when the schedule fires; `vidscribe deployments check` (and the tests) catch it at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from prefect import Flow
from prefect.client.schemas.schedules import CronSchedule
from prefect.flows import load_flow_from_entrypoint

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class DeploymentSpec:
    name: str
    flow: Flow[..., Any]
    parameters: dict[str, Any]
    schedules: list[CronSchedule]
    work_pool: str
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
        schedules = [CronSchedule(cron=s["cron"], timezone=s.get("timezone")) for s in entry.get("schedules", [])]
        limit = entry.get("concurrency_limit")
        specs.append(DeploymentSpec(
            name=entry["name"], flow=flow, parameters=parameters, schedules=schedules,
            work_pool=entry["work_pool"]["name"],
            concurrency_limit=limit["limit"] if isinstance(limit, dict) else limit,
        ))
    return specs
