"""OpenAPI post-processing: every operation documents its error answers as RFC 9457
problem+json (the body bpm.api.exception_handler writes)."""

PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string", "example": "about:blank#invalid"},
        "title": {"type": "string", "example": "invalid"},
        "status": {"type": "integer", "example": 400},
        "detail": {"description": "What went wrong, for people"},
        "code": {"type": "string", "description": "Stable machine-readable code, e.g. business_key_in_use"},
        "errors": {"description": "Field errors: {field: [messages]} (or a list of problems for BPMN)"},
    },
    "required": ["type", "title", "status"],
}
ERRORS = {
    "400": "Invalid input; `errors` names each field",
    "401": "Not authenticated (or a revoked client)",
    "403": "Not allowed: a missing role, object right or token scope",
    "404": "Unknown, or not visible to the caller",
    "409": "Conflicts with the current state (instance not active, business key in use, ...)",
    "422": "Understood but refused (invalid BPMN, idempotency key reused with another payload)",
    "429": "Over the rate; `Retry-After` says when to come back",
}
# What each method can answer besides success (reads are not refused with 409/422).
BY_METHOD = {
    "get": ["401", "403", "404", "429"],
    "post": ["400", "401", "403", "404", "409", "422", "429"],
    "put": ["400", "401", "403", "404", "409", "429"],
    "patch": ["400", "401", "403", "404", "409", "429"],
    "delete": ["401", "403", "404", "409", "429"],
}


def add_problem_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM
    ref = {"$ref": "#/components/schemas/Problem"}
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/v1/") or path == "/api/v1/health":
            continue
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for code in BY_METHOD.get(method, []):
                responses.setdefault(
                    code, {"description": ERRORS[code], "content": {"application/problem+json": {"schema": ref}}}
                )
    return result
