"""Dashboard pages: owners see their processes' figures, CSV exports, others see nothing."""

import pytest
from guardian.shortcuts import assign_perm

from dashboards.views import heat_overlays
from tests.dashboards.test_figures import history  # noqa: F401 - fixture
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
    overlays = heat_overlays({"a": {"completed": 10, "waiting": 2}, "b": {"completed": 1, "waiting": 0}})
    assert overlays["a"].fill == "#f97316" and overlays["a"].badge == "10 +2"
    assert overlays["b"].fill == "#fff7ed" and overlays["b"].badge == "1"


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(None, "–"), (45, "45 s"), (720, "12 min"), (3 * 3600 + 1200, "3 h 20 min"), (52 * 3600, "2 d 4 h")],
)
def test_durations_read_as_people_say_them(seconds, shown):
    from dashboards.templatetags.durations import duration

    assert duration(seconds) == shown
