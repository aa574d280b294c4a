from django.urls import path

from . import views

urlpatterns = [
    path("approvals/", views.InstanceApprovalsView.as_view(), name="approval-list"),
    path("approvals/pending/", views.PendingApprovalsView.as_view(), name="approval-pending"),
    path("approvals/decided/", views.DecidedByMeView.as_view(), name="approval-decided"),
    path("tasks/<int:task_id>/decide/", views.DecideView.as_view(), name="approval-decide"),
]
