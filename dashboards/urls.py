from django.urls import path

from . import views

app_name = "dashboards"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("workload/", views.workload, name="workload"),
    path("processes/<str:key>/", views.process_detail, name="process"),
]
