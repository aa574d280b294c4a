"""Dashboard pages: owners see their processes' figures, CSV exports, others see nothing."""

from datetime import timedelta

import pytest
from guardian.shortcuts import assign_perm

from dashboards.views import heat_overlays
from tests.dashboards.test_figures import history  # noqa: F401 - fixture
from tests.processes.factories import bpmn, chain, deploy_one
from tests.tasks.factories import user

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(history, client):  # noqa: F811
    person = user("olga")
    assign_perm("processes.own_process", person, history)
    client.force_login(person)
    return person


def test_the_overview_lists_owned_processes_with_their_figures(client, owner):
    page = client.get("/dashboards/").content.decode()
    assert 'href="/dashboards/processes/sla/?days=30"' in page and 'id="chart-data"' in page


def test_the_process_page_ranks_the_bottleneck_first(client, owner):
    page = client.get("/dashboards/processes/sla/").content.decode()
    assert page.index("Approve") < page.index("Check") and "bottleneck" in page


def test_a_date_range_picks_the_instances_started_in_it_and_carries_into_the_links(client, owner):
    from tests.dashboards.test_figures import NOW

    day = (NOW - timedelta(days=2)).date().isoformat()  # the six completed instances started then
    page = client.get("/dashboards/processes/sla/", {"since": day, "until": day}).content.decode()
    assert f'href="/dashboards/?since={day}&amp;until={day}"' in page
    assert "<b>9</b> started" in page and f'name="since" value="{day}"' in page
    earlier = client.get("/dashboards/processes/sla/", {"since": "2020-01-01", "until": "2020-01-31"})
    assert "<b>0</b> started" in earlier.content.decode()


def test_a_range_that_ends_before_it_starts_is_explained_and_the_last_30_days_are_shown(client, owner):
    page = client.get("/dashboards/", {"since": "2026-11-20", "until": "2026-11-01"}, follow=True).content.decode()
    assert "until: The end of the window must come after its start." in page and "last 30 days" in page


def test_versions_are_listed_side_by_side_once_there_are_two(client, owner, history):  # noqa: F811
    assert 'id="versions"' not in client.get("/dashboards/processes/sla/").content.decode()
    deploy_one(bpmn("sla", chain('<bpmn:userTask id="approve" name="Approve, v2"/>')))
    page = client.get("/dashboards/processes/sla/").content.decode()
    assert 'id="versions"' in page and page.index("Version 2</a>") < page.index("Version 1</a>")
    rows = client.get("/dashboards/processes/sla/", {"export": "versions"}).content.decode().splitlines()
    assert rows[0].startswith("version,started,running,failed") and rows[2].startswith("1,9,1,1")


def test_workload_shows_and_exports_completions_per_week(client, owner):
    page = client.get("/dashboards/workload/").content.decode()
    assert 'id="chart-per-week"' in page and 'id="weeks"' in page
    rows = client.get("/dashboards/workload/", {"export": "weeks"}).content.decode().splitlines()
    assert rows[0] == "week,user,completed" and sum(int(r.split(",")[2]) for r in rows[1:]) == 3


def test_the_steps_table_exports_as_csv(client, owner):
    response = client.get("/dashboards/processes/sla/", {"export": "steps"})
    lines = response.content.decode().splitlines()
    assert response["Content-Type"] == "text/csv"
    assert lines[0].startswith("element_id,name,passed") and lines[1].startswith("approve,Approve,2")


def test_someone_who_owns_nothing_sees_no_figures_and_gets_404_on_a_process(client, history):  # noqa: F811
    client.force_login(user("sam"))
    assert "You own no process yet" in client.get("/dashboards/").content.decode()
    assert client.get("/dashboards/processes/sla/").status_code == 404


def test_the_heat_overlay_is_darkest_on_the_busiest_step():
    from dashboards.views import HEAT

    nodes = {
        "a": {"completed": 10, "waiting": 2},
        "b": {"completed": 1, "waiting": 0},
        "c": {"completed": 5, "waiting": 0},
    }
    overlays = heat_overlays(nodes)
    shade = {key: HEAT.index(overlay.fill) for key, overlay in overlays.items()}  # 0 lightest
    assert shade["a"] == len(HEAT) - 1 and shade["b"] < shade["c"] < shade["a"]  # ordered by completions
    assert overlays["a"].badge == "10 +2" and overlays["b"].badge == "1"


def test_the_heat_overlay_badges_the_average_duration_and_explains_it_on_hover():
    overlays = heat_overlays({"a": {"completed": 4, "avg_duration_s": 3 * 3600 + 1200, "waiting": 1}})
    assert overlays["a"].badge == "4 · 3 h 20 min +1"
    assert overlays["a"].title == "4 completed, 3 h 20 min on average, 1 waiting now"


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(None, "–"), (45, "45 s"), (720, "12 min"), (3 * 3600 + 1200, "3 h 20 min"), (52 * 3600, "2 d 4 h")],
)
def test_durations_read_as_people_say_them(seconds, shown):
    from dashboards.templatetags.durations import duration

    assert duration(seconds) == shown
