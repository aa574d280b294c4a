"""The product's roles as Django groups, with the model permissions each one carries."""

ROLES: dict[str, list[str]] = {
    "BPM Administrator": ["*"],
    "Process Designer": [
        "add_processdefinition",
        "change_processdefinition",
        "view_processdefinition",
        "add_deployment",
        "view_deployment",
        "view_processinstance",
    ],
    "Process Owner": ["view_processdefinition", "view_processinstance", "change_processinstance"],
    "Task User": ["view_processdefinition"],
    "Approver": ["view_processdefinition"],
}
ADMIN_APPS = ["processes", "tasks", "approvals", "notifications"]


def ensure_roles(group_model, permission_model) -> None:
    """Create the role groups and give them their permissions (idempotent)."""
    for role, codenames in ROLES.items():
        group, _ = group_model.objects.get_or_create(name=role)
        if codenames == ["*"]:
            perms = permission_model.objects.filter(content_type__app_label__in=ADMIN_APPS)
        else:
            perms = permission_model.objects.filter(content_type__app_label="processes", codename__in=codenames)
        group.permissions.add(*perms)
