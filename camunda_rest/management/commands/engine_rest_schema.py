"""Write docs/engine-rest.yaml, the OpenAPI document of /engine-rest, from its routes."""

from pathlib import Path

import yaml
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from drf_spectacular.validation import validate_schema

from camunda_rest import openapi

DEFAULT = Path(settings.BASE_DIR) / "docs" / "engine-rest.yaml"


def render() -> str:
    return yaml.safe_dump(openapi.build(), sort_keys=False, width=120, allow_unicode=True)


class Command(BaseCommand):
    help = "Write the /engine-rest OpenAPI document (docs/engine-rest.yaml)."

    def add_arguments(self, parser):
        parser.add_argument("--file", default=str(DEFAULT))

    def handle(self, *args, file: str, **options):
        try:
            text = render()
        except openapi.UndocumentedRoute as exc:
            raise CommandError(str(exc)) from None
        validate_schema(yaml.safe_load(text))  # valid OpenAPI 3.0, or an error before writing
        Path(file).write_text(text, encoding="utf-8")
        self.stdout.write(f"Wrote {file} ({len(openapi.OPERATIONS)} operations)")
