"""/engine-rest/history: process instances (running and ended), their activity instances, tasks
and variables, read from the history this engine keeps, enough for Cockpit-style clients.

Queries take the query string (GET) or, where Camunda offers it, the same names in a JSON body
(POST); paging with firstResult/maxResults, ``sortBy``/``sortOrder`` as Camunda names them."""

from .activities import ActivityInstanceDetail, ActivityInstances
from .instances import ProcessInstanceDetail, ProcessInstances
from .query import activity_type
from .tasks import Tasks
from .variables import VariableInstanceDetail, VariableInstances

__all__ = [
    "ActivityInstanceDetail",
    "ActivityInstances",
    "ProcessInstanceDetail",
    "ProcessInstances",
    "Tasks",
    "VariableInstanceDetail",
    "VariableInstances",
    "activity_type",
]
