"""Deploy every .bpmn/.dmn file of a folder (definitions kept in git, promoted between environments)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from processes import services
from processes.choices import DeploySource
from processes.exceptions import DefinitionInvalidError


class Command(BaseCommand):
    help = (
        "Deploy the .bpmn and .dmn files of a folder. Each sub-folder (and the top folder) is one "
        "deployment, so a diagram and the files it calls deploy together. Identical files create nothing new."
    )

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path)
        parser.add_argument("--together", action="store_true", help="Deploy all files of the tree as one bundle")

    def handle(self, folder: Path, together: bool, **options):
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder")
        files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".bpmn", ".dmn") and p.is_file())
        if not files:
            raise CommandError(f"No .bpmn or .dmn files under {folder}")
        groups: dict[Path, list[Path]] = {}
        for path in files:
            groups.setdefault(folder if together else path.parent, []).append(path)
        failed = 0
        for group, paths in groups.items():
            try:
                result = services.definition_deploy(
                    files=[(p.name, p.read_bytes()) for p in paths], source=DeploySource.COMMAND, name=str(group)
                )
            except DefinitionInvalidError as exc:
                failed += 1
                self.stderr.write(self.style.ERROR(f"{group}: refused"))
                for problem in exc.details:
                    where = ", ".join(
                        str(x)
                        for x in (
                            problem["file"],
                            f"line {problem['line']}" if problem["line"] else "",
                            problem["element_id"],
                        )
                        if x
                    )
                    self.stderr.write(f"  {where}: {problem['message']}")
                continue
            self.stdout.write(f"{group}: {result.message}")
        if failed:
            raise CommandError(f"{failed} of {len(groups)} deployments were refused")
