"""Quartz cron expressions in timer cycles, as Camunda 7 accepts them."""

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from bpm.cron import CronError, next_fire
from processes import jobs, services
from processes.exceptions import DefinitionInvalidError

from ..processes.factories import bpmn, chain, deploy_one

pytestmark = pytest.mark.django_db

AT = datetime(2026, 11, 30, 15, 41, 12, tzinfo=UTC)  # a Monday


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("0/5 0/1 * 1/1 * ?", datetime(2026, 11, 30, 15, 41, 15, tzinfo=UTC)),
        ("0 0/5 * * * ?", datetime(2026, 11, 30, 15, 45, tzinfo=UTC)),
        ("0 15 10 ? * MON-FRI", datetime(2026, 12, 1, 10, 15, tzinfo=UTC)),
        ("0 0 9 ? * SAT", datetime(2026, 12, 5, 9, 0, tzinfo=UTC)),
        ("0 0 0 1 JAN ? 2027", datetime(2027, 1, 1, tzinfo=UTC)),
    ],
)
def test_a_quartz_cron_expression_fires_next_as_quartz_computes(expression, expected):
    assert next_fire(expression, AT) == expected


def test_cron_features_that_are_not_read_are_refused():
    with pytest.raises(CronError):
        next_fire("0 0 12 L * ?", AT)


def test_a_cycle_timer_with_a_cron_expression_deploys_and_fires_through_its_job():
    content = bpmn(
        "cron_boundary",
        '<bpmn:startEvent id="start"/><bpmn:userTask id="work"/><bpmn:endEvent id="end"/>'
        '<bpmn:boundaryEvent id="remind" attachedToRef="work" cancelActivity="false"><bpmn:timerEventDefinition>'
        "<bpmn:timeCycle>0 0/5 * * * ?</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:boundaryEvent>"
        '<bpmn:userTask id="reminded"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>'
        '<bpmn:sequenceFlow id="f3" sourceRef="remind" targetRef="reminded"/>',
    )
    instance = services.instance_start(definition=deploy_one(content))
    job = instance.jobs.get(element_id="remind", status="pending")
    assert 0 < (job.due_at - timezone.now()).total_seconds() <= 300
    jobs.run_due_jobs(now=timezone.now() + timezone.timedelta(minutes=6))
    assert instance.waiting_steps.filter(element_id="reminded").count() == 1
    assert instance.jobs.filter(element_id="remind", status="pending").count() == 1  # the next one


def test_an_unreadable_cron_expression_is_refused_at_deploy_naming_the_element():
    content = bpmn(
        "bad_cron",
        chain(
            '<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition><bpmn:timeCycle>0 0 12 L * ?'
            "</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
        ),
    )
    with pytest.raises(DefinitionInvalidError) as refused:
        deploy_one(content)
    assert any(p.get("element_id") == "wait" and "Cron" in p["message"] for p in refused.value.details)


def test_python_text_with_six_words_is_not_taken_for_cron():
    from bpm.cron import looks_like_cron

    assert not looks_like_cron("'should_escalate' in vars() or 'should_escalate' in globals()")
    assert looks_like_cron("0 15 10 ? * MON-FRI")
