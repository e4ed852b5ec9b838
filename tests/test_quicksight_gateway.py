"""Only the gateway (exports/quicksight.py) calls QuickSight: every other module of the portal goes through it."""

from __future__ import annotations

import ast
from pathlib import Path

import botocore.session
from botocore import xform_name

ROOT = Path(__file__).resolve().parent.parent
GATEWAY = ROOT / "exports" / "quicksight.py"
# quicksight_local is the service itself, tests and benchmarks talk to it directly.
CHECKED = ("exports", "portal")
CLIENT_FACTORY = "quicksight_client"


def quicksight_operations() -> frozenset[str]:
    model = botocore.session.get_session().get_service_model("quicksight")
    return frozenset(xform_name(name) for name in model.operation_names)


def calls_outside_the_gateway(path: Path, source: str, operations: frozenset[str]) -> list[str]:
    """Each call of a QuickSight operation, a QuickSight paginator or the QuickSight client factory
    in this source, as "path:line name"; calls on the gateway module itself (quicksight.x()) are fine."""
    found = []
    for node in ast.walk(ast.parse(source, filename=str(path))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        receiver = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
        operation = isinstance(func, ast.Attribute) and name in operations and receiver != "quicksight"
        if name == CLIENT_FACTORY or operation:
            found.append(f"{path}:{node.lineno} {name}")
        elif name in ("get_paginator", "can_paginate") and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and first.value in operations:
                found.append(f"{path}:{node.lineno} {name}({first.value!r})")
    return found


def portal_modules() -> list[Path]:
    return [path for folder in CHECKED for path in sorted((ROOT / folder).rglob("*.py")) if path != GATEWAY]


def test_no_module_outside_the_gateway_calls_quicksight():
    operations = quicksight_operations()
    offenders = [
        offence
        for path in portal_modules()
        for offence in calls_outside_the_gateway(path.relative_to(ROOT), path.read_text(), operations)
    ]
    assert offenders == []


def test_the_gateway_itself_makes_the_calls_the_check_looks_for():
    # Were the check blind (names mangled, the model unloaded), it would pass on any module.
    found = calls_outside_the_gateway(GATEWAY, GATEWAY.read_text(), quicksight_operations())
    names = {offence.split(" ", 1)[1] for offence in found}
    assert {
        "quicksight_client",
        "start_dashboard_snapshot_job",
        "describe_dashboard_snapshot_job",
        "describe_dashboard_snapshot_job_result",
        "describe_dashboard_definition",
        "describe_data_set",
        "get_paginator('list_dashboards')",
    } <= names


def test_a_scratch_module_calling_quicksight_is_refused():
    scratch = (
        "from exports import aws\n"
        "from exports import quicksight\n"
        "def fresh(export):\n"
        "    client = aws.quicksight_client(export.region)\n"
        "    quicksight.job_outcome(export)\n"
        "    return client.describe_dashboard_snapshot_job_result(AwsAccountId='1', SnapshotJobId='j')\n"
    )
    found = calls_outside_the_gateway(Path("exports/scratch.py"), scratch, quicksight_operations())
    assert found == [
        "exports/scratch.py:4 quicksight_client",
        "exports/scratch.py:6 describe_dashboard_snapshot_job_result",
    ]
