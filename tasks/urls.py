from django.urls import path

from . import views

app_name = "tasks"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("bulk/", views.tasks_bulk, name="tasks-bulk"),
    path("filters/", views.filter_save, name="filter-save"),
    path("filters/<int:pk>/delete/", views.filter_delete, name="filter-delete"),
    path("<int:pk>/", views.task_detail, name="task-detail"),
    path("step/<int:instance_id>/<uuid:spiff_task_id>/", views.task_for_step, name="task-for-step"),
    path("<int:pk>/claim/", views.task_claim, name="task-claim"),
    path("<int:pk>/unclaim/", views.task_unclaim, name="task-unclaim"),
    path("<int:pk>/complete/", views.task_complete, name="task-complete"),
    path("<int:pk>/delegate/", views.task_delegate, name="task-delegate"),
    path("<int:pk>/resolve/", views.task_resolve, name="task-resolve"),
    path("<int:pk>/reassign/", views.task_reassign, name="task-reassign"),
    path("<int:pk>/comment/", views.task_comment, name="task-comment"),
    path("<int:pk>/attach/", views.task_attach, name="task-attach"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment-download"),
    path("attachments/<int:pk>/delete/", views.attachment_delete, name="attachment-delete"),
    path("<int:pk>/change/", views.task_change, name="task-change"),
    path("<int:pk>/candidates/", views.task_candidate, name="task-candidate"),
]
