from django.urls import path

from . import views

app_name = "approvals"

urlpatterns = [
    path("decided/", views.decided_by_me, name="decided"),
    path("substitutes/", views.substitutes, name="substitutes"),
    path("tasks/<int:task_id>/decide/", views.decide, name="decide"),
]
