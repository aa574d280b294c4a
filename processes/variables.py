"""What callers may put into an instance's variables: no reserved names, a bounded size.

Every entry point that takes variables from a person or a system (start, complete a step,
change variables, message and signal payloads) checks them here before anything is written.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings

from bpm.exceptions import InvalidInput

# Set by the engine only: ``initiator`` is the user who started the instance (Camunda's
# camunda:initiator); a starter passing it could route ``${initiator}`` tasks to someone else.
RESERVED = frozenset({"initiator"})


class VariablesTooLarge(InvalidInput):
    code = "variables_too_large"


class ReservedVariable(InvalidInput):
    code = "reserved_variable"


def check(variables: dict[str, Any] | None, *, field: str = "variables", removing: tuple = ()) -> None:
    """Refuse reserved names and more than BPM_MAX_VARIABLES_BYTES of JSON, naming the field."""
    names = sorted((set(variables or {}) | set(removing)) & RESERVED)
    if names:
        raise ReservedVariable(
            f"{', '.join(names)} is set by the engine and cannot be given",
            details={field: [f"'{n}' is reserved: the engine sets it." for n in names]},
        )
    if not variables:
        return
    limit = settings.BPM["MAX_VARIABLES_BYTES"]
    size = len(json.dumps(variables, default=str, separators=(",", ":")).encode())
    if size > limit:
        raise VariablesTooLarge(
            f"The variables are {size:,} bytes as JSON; at most {limit:,} are accepted",
            details={field: [f"At most {limit:,} bytes of JSON (BPM_MAX_VARIABLES_BYTES); got {size:,}."]},
        )
