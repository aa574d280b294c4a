from bpm.exceptions import ApplicationError


class FourEyesViolation(ApplicationError):
    """The four-eyes rule refuses this decision."""

    code = "four_eyes"
    status = 403


class NotAnApproval(ApplicationError):
    code = "not_an_approval"
    status = 400
