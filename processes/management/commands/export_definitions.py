"""Write the active version of every process (and the files it depends on) into a folder."""

from pathlib import Path

from django.core.management.base import BaseCommand

from processes.models import ProcessDefinition


class Command(BaseCommand):
    help = "Export the active version of each process as <key>/<file> with the files it calls, ready for deploy_definitions."

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path)
        parser.add_argument("--key", action="append", help="Only these process keys (repeatable)")

    def handle(self, folder: Path, key: list[str] | None, **options):
        definitions = ProcessDefinition.objects.filter(is_active=True).select_related("resource")
        if key:
            definitions = definitions.filter(key__in=key)
        count = 0
        for definition in definitions.prefetch_related("dependencies"):
            target = folder / definition.key
            target.mkdir(parents=True, exist_ok=True)
            for resource in [definition.resource, *definition.dependencies.all()]:
                (target / resource.name).write_text(resource.content, encoding="utf-8")
            count += 1
            self.stdout.write(f"{definition.key} v{definition.version} -> {target}")
        self.stdout.write(f"Exported {count} process(es).")
