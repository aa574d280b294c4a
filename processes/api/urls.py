from django.urls import path
from rest_framework.routers import DefaultRouter

from . import history_views, job_views, views

router = DefaultRouter()
router.register("definitions", views.DefinitionViewSet, basename="definition")
router.register("instances", views.InstanceViewSet, basename="instance")
router.register("incidents", job_views.IncidentViewSet, basename="incident")
router.register("jobs", job_views.JobViewSet, basename="job")

urlpatterns = [
    path("messages/", views.MessageView.as_view(), name="message-correlate"),
    path("signals/", views.SignalView.as_view(), name="signal-broadcast"),
    path("conditions/", views.ConditionView.as_view(), name="condition-evaluate"),
    path("operations/", history_views.OperationLogView.as_view(), name="operation-log"),
    path("decisions/<str:key>/evaluate/", views.DecisionEvaluateView.as_view(), name="decision-evaluate"),
    *router.urls,
]
