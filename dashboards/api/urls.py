from django.urls import path

from . import views

urlpatterns = [
    path("metrics/overview", views.OverviewView.as_view(), name="metrics-overview"),
    path("metrics/processes/<str:key>", views.ProcessMetricsView.as_view(), name="metrics-process"),
    path("metrics/workload", views.WorkloadView.as_view(), name="metrics-workload"),
]
