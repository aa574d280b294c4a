"""Errors raised by the processes services."""

from bpm.exceptions import ApplicationError, Conflict, InvalidInput, NotFound


class DefinitionInvalidError(ApplicationError):
    """Uploaded BPMN/DMN cannot be deployed; details list each problem with file, element and line."""

    code = "definition_invalid"
    status = 422


class InstanceNotFound(NotFound):
    code = "instance_not_found"


class DefinitionNotFound(NotFound):
    code = "definition_not_found"


class InstanceNotActive(Conflict):
    code = "instance_not_active"


class DefinitionSuspended(Conflict):
    code = "definition_suspended"


class InstanceSuspended(InstanceNotActive):
    code = "instance_suspended"


class StepNotWaiting(Conflict):
    code = "step_not_waiting"


class NothingWaitsForMessage(NotFound):
    code = "message_not_correlated"


class AmbiguousCorrelation(Conflict):
    code = "message_ambiguous"


class InvalidGrant(InvalidInput):
    code = "invalid_grant"


class DuplicateBusinessKey(Conflict):
    code = "business_key_in_use"


class MessageAlreadyCorrelated(Conflict):
    code = "message_already_correlated"


class StepNotCompletable(Conflict):
    """The step is not completed by hand: a service task waits for its job, events for their trigger."""

    code = "step_not_completable"


class ForceCompleteRefused(ApplicationError):
    code = "force_complete_refused"
    status = 403


class CommandFailed(ApplicationError):
    """An expression, script or decision failed in the steps a command runs: the whole command
    rolled back (the task stays open, nothing started), as in Camunda."""

    code = "command_failed"
    status = 422

    def __init__(self, message: str, *, element_id: str = ""):
        where = f" at '{element_id}'" if element_id else ""
        super().__init__(
            f"The command was rolled back: a step failed{where}: {message}",
            details={"element_id": element_id, "cause": message},
        )
        self.element_id = element_id
        self.cause = message


class InstanceWouldStall(CommandFailed):
    """The command would leave a running instance waiting at nothing (no task, event, job or
    incident): it rolled back instead, and the engine logged the diagram and the state."""

    code = "instance_would_stall"


class MigrationInvalid(ApplicationError):
    """A migration plan, or an instance it is applied to, cannot be migrated; ``details`` holds
    the plan's problems and a report per instance (element id and reason), as Camunda's
    MigratingProcessInstanceValidationException does. Nothing was changed."""

    code = "migration_invalid"
    status = 422

    def __init__(self, message: str, *, plan: list[dict] | None = None, instances: dict | None = None):
        super().__init__(message, details={"plan": plan or [], "instances": instances or {}})


class ModificationInvalid(ApplicationError):
    """An instruction of a modification does not apply to the instance; nothing was changed."""

    code = "modification_invalid"
    status = 422

    def __init__(self, message: str, *, element_id: str = "", instruction: int | None = None):
        super().__init__(message, details={"element_id": element_id, "instruction": instruction})


class BatchNotAllowed(ApplicationError):
    """The selection holds instances the user may not change."""

    code = "batch_not_allowed"
    status = 403
