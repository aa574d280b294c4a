from django.urls import path

from . import views

app_name = "dashboards"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("workload/", views.workload, name="workload"),
    path("processes/<str:key>/", views.process_detail, name="process"),
    path("processes/<str:key>/alerts/", views.alert_create, name="alert-create"),
    path("processes/<str:key>/alerts/<int:pk>/delete/", views.alert_delete, name="alert-delete"),
]
