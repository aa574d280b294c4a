from bpm.exceptions import ApplicationError, Conflict, NotFound


class TaskNotFound(NotFound):
    code = "task_not_found"


class TaskNotOpen(Conflict):
    code = "task_not_open"


class TaskAlreadyClaimed(Conflict):
    code = "task_already_claimed"


class NotAllowedOnTask(ApplicationError):
    code = "task_forbidden"
    status = 403


class UnknownUser(ApplicationError):
    code = "unknown_user"
    status = 400
