"""A process owner opens each dashboard in Chromium: charts and the heat overlay draw, a
date range carries from page to page."""

import os

import pytest
from django.core.management import call_command

from processes import services
from tasks.models import HumanTask
from tests.browser import BROWSER_MARKS, SCREENSHOTS, login

pytestmark = BROWSER_MARKS


@pytest.mark.django_db(transaction=True)
def test_an_owner_sees_charts_and_the_heat_overlay_and_a_stranger_sees_nothing(page, live_server):
    from django.contrib.auth import get_user_model

    call_command("load_demo", stdout=open(os.devnull, "w"))  # the demo's owner owns the demo processes
    approver = get_user_model().objects.get(username="approver")
    for task in HumanTask.objects.filter(process_key="leave_request", status="open")[:1]:
        services.instance_complete_step(
            instance_id=task.instance_id, spiff_task_id=str(task.spiff_task_id), data={"approved": True}, user=approver
        )
    login(page, live_server, "owner", "owner")
    page.click("#nav-dashboards")
    page.wait_for_selector("#chart-per-day[data-drawn=true]")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard-overview.png"), full_page=True)
    assert "leave_request" in page.inner_text("#processes")  # the key beside the name
    page.click("#processes >> text=Leave request")
    page.wait_for_selector("#heat svg g.hot")
    page.wait_for_selector("#chart-per-day[data-drawn=true]")
    page.screenshot(path=str(SCREENSHOTS / "dashboard-process.png"), full_page=True)
    today = page.evaluate("new Date().toISOString().slice(0, 10)")
    page.fill("#window input[name=since]", "2020-01-01")
    page.fill("#window input[name=until]", today)
    page.click("#window button[type=submit]")
    page.wait_for_selector("#heat svg g.hot")
    assert "01 Jan 2020 –" in page.inner_text("h1")
    page.click("text=All processes")
    page.wait_for_selector("#chart-per-day[data-drawn=true]")
    assert "01 Jan 2020 –" in page.inner_text("h1")  # the range carries over
    page.goto(f"{live_server.url}/dashboards/workload/")
    page.wait_for_selector("#chart-per-week[data-drawn=true]")
    page.screenshot(path=str(SCREENSHOTS / "dashboard-workload.png"), full_page=True)
    page.click("text=Log out")
    login(page, live_server, "user", "user")
    page.goto(f"{live_server.url}/dashboards/")
    page.wait_for_selector("#no-processes")
    assert "leave_request" not in page.content()
    assert "process_access grant KEY own --user user" in page.inner_text("#no-processes")
