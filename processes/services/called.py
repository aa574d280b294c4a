"""Which version of a called process a call activity runs (registered with engine/called.py
in ProcessesConfig.ready): looked up when the call happens, or by the id a running call recorded."""

from __future__ import annotations

from ..engine import called
from ..models import ProcessDefinition
from .deploy import specs_for


def called_version(key: str, binding: dict) -> called.CalledVersion | None:
    """The version of ``key`` a call activity with this camunda:calledElementBinding runs now."""
    kind = binding.get("binding") or "latest"
    versions = ProcessDefinition.objects.filter(key=key)
    if kind == "version":
        found = versions.filter(version=int(binding.get("version") or 0)).first()
        wanted = f"version {binding.get('version')} of process '{key}'"
    elif kind == "versionTag":
        found = versions.filter(version_tag=binding.get("version_tag") or "").order_by("-version").first()
        wanted = f"a version of process '{key}' tagged '{binding.get('version_tag')}'"
    else:
        found = versions.filter(is_active=True).first()
        if found is None:
            return None  # not deployed as a process of its own (not executable): the copy deployed with the caller
    if found is None:
        raise called.CalledVersionMissing(f"The call activity needs {wanted}, and none is deployed")
    specs = specs_for(found)
    return called.CalledVersion(found.pk, specs.spec, specs.subprocess_specs)


def called_version_by_id(definition_id: int) -> called.CalledVersion | None:
    found = ProcessDefinition.objects.filter(pk=definition_id).first()
    if found is None:
        return None
    specs = specs_for(found)
    return called.CalledVersion(found.pk, specs.spec, specs.subprocess_specs)
