from django.urls import path

from . import modeler_pages, operation_pages, start_pages, views

app_name = "processes"

urlpatterns = [
    path("", views.definition_list, name="definition-list"),
    path("upload/", views.definition_upload, name="definition-upload"),
    path("definitions/<int:pk>/", views.definition_detail, name="definition-detail"),
    path("definitions/<int:pk>/xml/", views.definition_xml, name="definition-xml"),
    path("definitions/<int:pk>/diff/", views.definition_diff, name="definition-diff"),
    path("definitions/<int:pk>/activate/", views.definition_activate, name="definition-activate"),
    path("definitions/<int:pk>/suspension/", views.definition_suspension, name="definition-suspension"),
    path("definitions/<int:pk>/history-ttl/", views.definition_history_ttl, name="definition-history-ttl"),
    path("definitions/<int:pk>/follow/", views.definition_follow, name="definition-follow"),
    path("definitions/<int:pk>/grant/", views.definition_grant, name="definition-grant"),
    path("definitions/<int:pk>/revoke/", views.definition_revoke, name="definition-revoke"),
    path("start/", start_pages.start_list, name="start-list"),
    path("modeler/", modeler_pages.modeler_page, name="modeler"),
    path("modeler/check/", modeler_pages.modeler_check, name="modeler-check"),
    path("modeler/draft/", modeler_pages.modeler_draft, name="modeler-draft"),
    path("modeler/deploy/", modeler_pages.modeler_deploy, name="modeler-deploy"),
    path("definitions/<int:pk>/start/", start_pages.instance_start, name="instance-start"),
    path("definitions/<int:pk>/migrate/", operation_pages.migration_preview, name="definition-migrate"),
    path("instances/", views.instance_list, name="instance-list"),
    path("instances/<int:pk>/modify/", operation_pages.instance_modify, name="instance-modify"),
    path("batches/", operation_pages.batch_list, name="batch-list"),
    path("batches/<int:pk>/", operation_pages.batch_detail, name="batch-detail"),
    path("instances/<int:pk>/", views.instance_detail, name="instance-detail"),
    path("instances/<int:pk>/cancel/", views.instance_cancel, name="instance-cancel"),
    path("instances/<int:pk>/incidents/<int:incident_id>/retry/", views.incident_retry, name="incident-retry"),
    path(
        "instances/<int:pk>/steps/<uuid:spiff_task_id>/force-complete/",
        views.instance_force_complete_step,
        name="instance-force-complete-step",
    ),
]
