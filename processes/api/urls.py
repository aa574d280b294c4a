from django.urls import path
from rest_framework.routers import DefaultRouter

from . import history_views, job_views, operation_views, views

router = DefaultRouter()
router.register("definitions", views.DefinitionViewSet, basename="definition")
router.register("instances", views.InstanceViewSet, basename="instance")
router.register("incidents", job_views.IncidentViewSet, basename="incident")
router.register("jobs", job_views.JobViewSet, basename="job")
router.register("batches", operation_views.BatchViewSet, basename="batch")

urlpatterns = [
    path("messages/", views.MessageView.as_view(), name="message-correlate"),
    path("signals/", views.SignalView.as_view(), name="signal-broadcast"),
    path("conditions/", views.ConditionView.as_view(), name="condition-evaluate"),
    path("migration/generate/", operation_views.MigrationGenerateView.as_view(), name="migration-generate"),
    path("migration/validate/", operation_views.MigrationValidateView.as_view(), name="migration-validate"),
    path("migration/execute/", operation_views.MigrationExecuteView.as_view(), name="migration-execute"),
    path("instances/<int:pk>/modify/", operation_views.InstanceModifyView.as_view(), name="instance-modify"),
    path("history/activities/", history_views.ActivityHistoryView.as_view(), name="history-activities"),
    path("history/decisions/", history_views.DecisionHistoryView.as_view(), name="history-decisions"),
    path("history/variables/", history_views.VariableHistoryView.as_view(), name="history-variables"),
    path("history/incidents/", history_views.IncidentHistoryView.as_view(), name="history-incidents"),
    path("operations/", history_views.OperationLogView.as_view(), name="operation-log"),
    path("decisions/<str:key>/evaluate/", views.DecisionEvaluateView.as_view(), name="decision-evaluate"),
    *router.urls,
]
