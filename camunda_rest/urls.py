"""/engine-rest/ routes (Camunda 7.2x paths); docs/engine-rest.yaml lists them."""

from django.urls import path

from . import deployments, engine, external_tasks, messages, process_definitions, process_instances, tasks

urlpatterns = [
    path("engine", engine.Engines.as_view()),
    path("version", engine.Version.as_view()),
    # deployments
    path("deployment/create", deployments.Create.as_view()),
    path("deployment", deployments.List.as_view()),
    path("deployment/count", deployments.List.as_view(count=True)),
    path("deployment/<str:deployment_id>", deployments.Detail.as_view()),
    path("deployment/<str:deployment_id>/resources", deployments.Resources.as_view()),
    # process definitions
    path("process-definition", process_definitions.List.as_view()),
    path("process-definition/count", process_definitions.List.as_view(count=True)),
    path("process-definition/key/<str:key>", process_definitions.Detail.as_view()),
    path("process-definition/key/<str:key>/xml", process_definitions.Xml.as_view()),
    path("process-definition/key/<str:key>/start", process_definitions.Start.as_view()),
    path("process-definition/key/<str:key>/submit-form", process_definitions.Start.as_view(form=True)),
    path("process-definition/key/<str:key>/form-variables", process_definitions.FormVariables.as_view()),
    path("process-definition/<str:definition_id>", process_definitions.Detail.as_view()),
    path("process-definition/<str:definition_id>/xml", process_definitions.Xml.as_view()),
    path("process-definition/<str:definition_id>/start", process_definitions.Start.as_view()),
    path("process-definition/<str:definition_id>/submit-form", process_definitions.Start.as_view(form=True)),
    path("process-definition/<str:definition_id>/form-variables", process_definitions.FormVariables.as_view()),
    # process instances
    path("process-instance", process_instances.List.as_view()),
    path("process-instance/count", process_instances.List.as_view(count=True)),
    path("process-instance/<str:instance_id>", process_instances.Detail.as_view()),
    path("process-instance/<str:instance_id>/variables", process_instances.Variables.as_view()),
    path("process-instance/<str:instance_id>/variables/<str:name>", process_instances.Variable.as_view()),
    path("process-instance/<str:instance_id>/suspended", process_instances.Suspended.as_view()),
    path("process-instance/<str:instance_id>/activity-instances", process_instances.ActivityInstances.as_view()),
    # tasks
    path("task", tasks.List.as_view()),
    path("task/count", tasks.List.as_view(count=True)),
    path("task/<str:task_id>", tasks.Detail.as_view()),
    path("task/<str:task_id>/claim", tasks.Claim.as_view()),
    path("task/<str:task_id>/unclaim", tasks.Unclaim.as_view()),
    path("task/<str:task_id>/complete", tasks.Complete.as_view()),
    path("task/<str:task_id>/submit-form", tasks.Complete.as_view(form=True)),
    path("task/<str:task_id>/form-variables", tasks.FormVariables.as_view()),
    path("task/<str:task_id>/delegate", tasks.Delegate.as_view()),
    path("task/<str:task_id>/resolve", tasks.Resolve.as_view()),
    path("task/<str:task_id>/assignee", tasks.Assignee.as_view()),
    path("task/<str:task_id>/variables", tasks.Variables.as_view()),
    path("task/<str:task_id>/localVariables", tasks.Variables.as_view(local=True)),
    path("task/<str:task_id>/comment", tasks.Comments.as_view()),
    path("task/<str:task_id>/comment/create", tasks.Comments.as_view()),
    path("task/<str:task_id>/identity-links", tasks.IdentityLinks.as_view()),
    path("task/<str:task_id>/identity-links/delete", tasks.IdentityLinks.as_view(removing=True)),
    path("task/<str:task_id>/bpmnError", tasks.BpmnError.as_view()),
    path("task/<str:task_id>/bpmnEscalation", tasks.BpmnError.as_view(escalation=True)),
    # external tasks (workers)
    path("external-task", external_tasks.ExternalTaskList.as_view()),
    path("external-task/count", external_tasks.ExternalTaskList.as_view(count=True)),
    path("external-task/fetchAndLock", external_tasks.FetchAndLock.as_view()),
    path("external-task/topic-names", external_tasks.TopicNames.as_view()),
    path("external-task/<str:task_id>", external_tasks.ExternalTaskDetail.as_view()),
    path("external-task/<str:task_id>/errorDetails", external_tasks.ErrorDetails.as_view()),
    path("external-task/<str:task_id>/complete", external_tasks.Complete.as_view()),
    path("external-task/<str:task_id>/failure", external_tasks.Failure.as_view()),
    path("external-task/<str:task_id>/bpmnError", external_tasks.BpmnError.as_view()),
    path("external-task/<str:task_id>/extendLock", external_tasks.ExtendLock.as_view()),
    path("external-task/<str:task_id>/unlock", external_tasks.Unlock.as_view()),
    path("external-task/<str:task_id>/retries", external_tasks.Retries.as_view()),
    # messages and signals
    path("message", messages.Correlate.as_view()),
    path("signal", messages.Signal.as_view()),
]
