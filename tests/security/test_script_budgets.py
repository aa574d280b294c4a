"""Script budgets (issue 13.5) and exceptions that are not errors (13.6): what scripts,
expressions and decision tables do beyond their budget stops them, the server process
stays healthy and the instance says which element broke which budget. Attacked over HTTP."""

import resource
import time

import pytest
from rest_framework.test import APIClient

from processes import jobs, services
from processes.engine import sandbox, scripting
from processes.exceptions import CommandFailed
from processes.models import ProcessInstance
from tests.processes.factories import bpmn, chain, deploy_one

pytestmark = pytest.mark.django_db

ATTACKS = {
    "huge power": "x = pow(10, 10**9)",
    "padding through the type": "x = str.ljust('x', 10**9)",
    "star width": "x = '%0*d' % (10**9, 1)",
    "centre through the type": "x = str.center('x', 10**9)",
    "zfill through the type": "x = str.zfill('1', 10**9)",
    "join through the type": "x = str.join('', ['ab'] * 999999) * 2",
    "translate through the type": "x = str.translate('a', {97: 'b' * 999999})",
    "expandtabs through the type": "x = str.expandtabs('\\t' * 999999, 999999)",
    "a sort one C call long": "x = sorted(['a' * 999999] * 999999)",
    "a repr of a terabyte": "x = str(['a' * 999999] * 999999)",
}


def start_over_http(client, script: str):
    deploy_one(
        bpmn(
            "attack",
            chain(f'<bpmn:scriptTask id="evil"><bpmn:script><![CDATA[{script}]]></bpmn:script></bpmn:scriptTask>'),
        )
    )
    return client.post("/api/v1/instances/", {"definition_key": "attack"}, format="json")


@pytest.fixture
def api(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


@pytest.mark.parametrize("script", ATTACKS.values(), ids=ATTACKS.keys())
def test_a_script_attack_stops_within_its_budget_and_names_the_element(api, script):
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    response = start_over_http(api, script)
    elapsed = time.monotonic() - started
    assert response.status_code == 422, response.content
    errors = response.json()["errors"]
    assert errors["element_id"] == "evil"
    assert not ProcessInstance.objects.exists()
    assert any(
        word in errors["cause"] for word in ("larger than", "MiB", "longer than", "not allowed", "through the type")
    )
    assert elapsed < scripting.LIMITS.timeout_seconds + 3
    # this process did not grow by the attack (its peak resident size moved less than 100 MiB)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 100 * 1024


def test_the_server_runs_the_next_script_after_a_helper_was_killed(api):
    start_over_http(api, ATTACKS["a sort one C call long"])
    deploy_one(bpmn("fine", chain('<bpmn:scriptTask id="ok"><bpmn:script>n = 41 + 1</bpmn:script></bpmn:scriptTask>')))
    response = api.post("/api/v1/instances/", {"definition_key": "fine"}, format="json")
    assert response.json()["status"] == "completed" and response.json()["variables"]["n"] == 42


@pytest.mark.parametrize("raised", ["SystemExit(3)", "KeyboardInterrupt()", "BaseException('x')", "GeneratorExit()"])
def test_base_exceptions_from_a_script_are_script_errors_that_fail_the_command(api, raised):
    response = start_over_http(api, f"raise {raised}")
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors["element_id"] == "evil"
    assert raised.split("(")[0] in errors["cause"]


def test_a_script_raising_system_exit_after_a_timer_becomes_an_incident_and_the_job_runner_goes_on(settings):
    from processes.models import Incident

    settings.BPM = {**settings.BPM, "JOB_RETRY_BASE_SECONDS": 0}
    from django.utils import timezone

    body = chain(
        '<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1M</bpmn:timeDuration>'
        "</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>",
        '<bpmn:scriptTask id="evil"><bpmn:script>raise SystemExit(1)</bpmn:script></bpmn:scriptTask>',
    )
    definition = deploy_one(bpmn("timed_attack", body))
    first = services.instance_start(definition=definition)
    second = services.instance_start(definition=definition)
    for _ in range(3):  # each run returns: nothing escaped
        jobs.run_due_jobs(now=timezone.now() + timezone.timedelta(minutes=2))
    for instance in (first, second):
        instance.refresh_from_db()
        assert instance.status == "running"
        incident = Incident.objects.get(instance=instance)
        assert incident.element_id == "wait" and "evil" in incident.message and "SystemExit" in incident.message


SLOW_CELL = "any((now() - t).total_seconds() > 0.4 for t in [now()] for i in range(1000000))"


def slow_table(rules: int) -> bytes:
    # each input entry is a Python condition (not FEEL) that takes 0.4 s; only the last matches
    rows = "".join(
        f'<rule id="r{i}"><inputEntry id="e{i}"><text>({SLOW_CELL}) and {"True" if i == rules - 1 else "False"}'
        f'</text></inputEntry><outputEntry id="o{i}"><text>"row {i}"</text></outputEntry></rule>'
        for i in range(rules)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="slow" namespace="x">'
        '<decision id="slow" name="Slow"><decisionTable id="t" hitPolicy="FIRST">'
        '<input id="i"><inputExpression id="ie"><text>true</text></inputExpression></input>'
        f'<output id="o" name="row" typeRef="string"/>{rows}</decisionTable></decision></definitions>'
    ).encode()


def test_a_decision_table_is_evaluated_within_one_budget_however_many_cells_it_has(settings):
    scripting.LIMITS.timeout_seconds = 1.0
    try:
        content = bpmn("with_slow_dmn", chain('<bpmn:businessRuleTask id="decide" camunda:decisionRef="slow"/>'))
        result = services.definition_deploy(files=[("p.bpmn", content), ("slow.dmn", slow_table(6))])
        started = time.monotonic()
        with pytest.raises(CommandFailed) as failed:
            services.instance_start(definition=result.created[0])
        elapsed = time.monotonic() - started
    finally:
        scripting.LIMITS.timeout_seconds = settings.BPM["SCRIPT_TIMEOUT_SECONDS"]
    # six cells of 0.4 s each would take 2.4 s; the table as a whole stops at its 1 s budget
    assert failed.value.element_id == "decide"
    assert "longer than 1 s" in failed.value.cause
    assert elapsed < 2.2


def test_a_decision_table_within_its_budget_still_decides():
    content = bpmn("with_slow_dmn", chain('<bpmn:businessRuleTask id="decide" camunda:decisionRef="slow"/>'))
    result = services.definition_deploy(files=[("p.bpmn", content), ("slow.dmn", slow_table(2))])
    assert services.instance_start(definition=result.created[0]).variables["row"] == "row 1"


def test_simple_conditions_run_in_this_process_and_scripts_in_a_helper():
    assert scripting.is_simple("amount > 1000 and not rejected")
    assert scripting.is_simple('status == "ok" or level in ["a", "b"]')
    assert not scripting.is_simple("pow(10, 10**9)")
    assert not scripting.is_simple("str.ljust('x', 10**9)")
    assert not scripting.is_simple("[x for x in items]")
    assert not scripting.is_simple("a * b")  # products of two variables can double without end
    helpers_before = len(sandbox.POOL.idle)
    assert scripting.evaluate("amount > 1000", {"amount": 5000}) is True
    assert len(sandbox.POOL.idle) == helpers_before
