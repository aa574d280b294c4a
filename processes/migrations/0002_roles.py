"""Create the product's roles as Django groups with their model permissions."""

from django.db import migrations

ROLES = {
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


def create_roles(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        if codenames == ["*"]:
            perms = Permission.objects.filter(content_type__app_label__in=["processes", "tasks", "approvals", "notifications"])
        else:
            perms = Permission.objects.filter(content_type__app_label="processes", codename__in=codenames)
        group.permissions.add(*perms)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=list(ROLES)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("processes", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
