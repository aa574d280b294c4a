"""Reading uploaded XML safely (no DTD, no entities, no network, a size limit), its kind and its encoding."""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser.process import SPIFF_XSD

from .constants import BPMN_NS, CAMUNDA_NS, DEFAULT_MAX_BYTES, DIALECT_CAMUNDA, DIALECT_SPIFF, DMN_NAMESPACES, SPIFF_NS
from .results import DefinitionInvalid, Problem, SourceFile


def _xml_parser() -> etree.XMLParser:
    # No entity expansion, no DTD loading, no network: XXE and billion-laughs stay out.
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )


def as_utf8(content: bytes) -> bytes:
    """A file whose XML declaration names another encoding (ISO-8859-1, windows-1252...) as
    UTF-8 with the declaration changed to say so, as Camunda reads it; anything else as is."""
    head = content[:200].split(b"?>", 1)[0].lower()
    if not head.startswith(b"<?xml") or b"encoding" not in head:
        return content
    declared = (
        head.split(b"encoding", 1)[1].lstrip(b" =").strip()[1:].split(b'"')[0].split(b"'")[0].decode("ascii", "replace")
    )
    if declared.upper().replace("_", "-") in ("UTF-8", "UTF8", "US-ASCII", "ASCII"):
        return content
    try:
        text = content.decode(declared)
    except (LookupError, UnicodeDecodeError):
        return content  # read_xml reports it
    declaration, rest = text.split("?>", 1)
    declaration = re.sub(r"""encoding\s*=\s*["'][^"']*["']""", 'encoding="UTF-8"', declaration, count=1)
    return (declaration + "?>" + rest).encode("utf-8")


# Within one upload (``parsed_once``) each distinct file is parsed and checked once; the
# dependency scan, the validation and the spec building each get their own copy of it
# (the spec building rewrites its copy).
_parsed: ContextVar[dict | None] = ContextVar("bpm_parsed_files", default=None)


@contextmanager
def parsed_once() -> Iterator[None]:
    token = _parsed.set({})
    try:
        yield
    finally:
        _parsed.reset(token)


def read_xml(source: SourceFile, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._ElementTree:
    """Parse one file safely, refusing DTDs, oversize files and malformed XML with the line."""
    if len(source.content) > max_bytes:
        raise DefinitionInvalid(
            [Problem(f"File is {len(source.content):,} bytes; the limit is {max_bytes:,} bytes", file=source.name)]
        )
    cache = _parsed.get()
    if cache is None:
        return _parse(source)
    key = hashlib.sha256(source.content).digest()
    if key not in cache:
        cache[key] = _parse(source)
    return copy.deepcopy(cache[key])


def _parse(source: SourceFile) -> etree._ElementTree:
    if not source.content.strip():
        raise DefinitionInvalid([Problem("File is empty", file=source.name)])
    try:
        tree = etree.ElementTree(etree.fromstring(source.content, _xml_parser()))
    except etree.XMLSyntaxError as exc:
        try:
            source.content.decode("utf-8")
        except UnicodeDecodeError as bad:
            raise DefinitionInvalid(
                [
                    Problem(
                        f"File is not valid UTF-8 (byte {bad.start + 1}); save it as UTF-8",
                        file=source.name,
                        line=exc.lineno,
                    )
                ]
            ) from None
        raise DefinitionInvalid([Problem(f"Not well-formed XML: {exc.msg}", file=source.name, line=exc.lineno)])
    encoding = (tree.docinfo.encoding or "UTF-8").upper().replace("_", "-")
    if encoding not in ("UTF-8", "UTF8", "US-ASCII", "ASCII"):
        raise DefinitionInvalid(
            [Problem(f"File is encoded as {tree.docinfo.encoding}; save it as UTF-8", file=source.name, line=1)]
        )
    try:
        source.content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DefinitionInvalid(
            [Problem(f"File is not valid UTF-8 (byte {exc.start + 1}); save it as UTF-8", file=source.name)]
        ) from None
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise DefinitionInvalid(
            [
                Problem(
                    "Document type declarations (DOCTYPE) are not allowed in BPMN or DMN files",
                    file=source.name,
                    line=1,
                )
            ]
        )
    _camunda_from_activiti(tree)
    return tree


ACTIVITI_NS = "http://activiti.org/bpmn"


def _camunda_from_activiti(tree: etree._ElementTree) -> None:
    """Camunda 7 reads the legacy Activiti namespace as its own: so do we (attributes and
    extension elements in it become camunda: ones)."""
    root = tree.getroot()
    prefix = f"{{{ACTIVITI_NS}}}"
    if not any(
        (isinstance(el.tag, str) and el.tag.startswith(prefix)) or any(k.startswith(prefix) for k in el.attrib)
        for el in root.iter()
    ):
        return
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.startswith(prefix):
            el.tag = f"{{{CAMUNDA_NS}}}{el.tag[len(prefix) :]}"
        for name in [k for k in el.attrib if k.startswith(prefix)]:
            el.set(f"{{{CAMUNDA_NS}}}{name[len(prefix) :]}", el.attrib.pop(name))


def kind_of(tree: etree._ElementTree) -> str:
    """Return 'bpmn' or 'dmn' for a parsed document, or raise when it is neither."""
    root = tree.getroot()
    qname = etree.QName(root)
    if qname.localname == "definitions" and qname.namespace == BPMN_NS:
        return "bpmn"
    if qname.localname == "definitions" and qname.namespace in DMN_NAMESPACES:
        return "dmn"
    raise DefinitionInvalid(
        [
            Problem(
                f"Not a BPMN 2.0 or DMN file: the root element is <{qname.localname}> in namespace "
                f"'{qname.namespace or ''}', expected <definitions> in '{BPMN_NS}'",
                line=root.sourceline,
            )
        ]
    )


def _uses_namespace(root: etree._Element, namespace: str) -> bool:
    return bool(root.xpath("boolean(//*[namespace-uri()=$ns] | //@*[namespace-uri()=$ns])", ns=namespace))


def dialect_of(trees: Iterable[etree._ElementTree]) -> str:
    """Camunda when a file uses camunda: extensions (and no spiffworkflow: ones), else Spiff.

    Spiff's parser is a superset of plain BPMN and handles message payloads the way
    plain diagrams expect; Camunda's reads camunda: forms, decisions and messages.
    """
    trees = list(trees)
    if any(_uses_namespace(t.getroot(), SPIFF_NS) for t in trees):
        return DIALECT_SPIFF
    if any(_uses_namespace(t.getroot(), CAMUNDA_NS) for t in trees):
        return DIALECT_CAMUNDA
    return DIALECT_SPIFF


_validator: BpmnValidator | None = None


def _xsd_validator() -> BpmnValidator:
    global _validator
    if _validator is None:
        _validator = BpmnValidator(imports={"spiffworkflow": SPIFF_XSD})
    return _validator


def _readable_xsd_message(message: str) -> str:
    """Shorten lxml's schema messages: bpmn: prefixes, and at most five expected elements."""
    message = message.replace(f"{{{BPMN_NS}}}", "bpmn:")
    if "Expected is one of (" in message:
        head, _, rest = message.partition("Expected is one of (")
        options = [o.strip() for o in rest.rstrip(" ).").split(",")]
        more = f", and {len(options) - 5} more" if len(options) > 5 else ""
        message = f"{head}Expected one of: {', '.join(options[:5])}{more}."
    return message


def _check_xsd(tree: etree._ElementTree, name: str) -> None:
    validator = _xsd_validator()
    # The validator rewrites one tag bpmn-js gets wrong; work on a copy so lines stay the user's.
    candidate = copy.deepcopy(tree)
    try:
        validator.validate(candidate, name)
    except ValidationException as exc:
        raise DefinitionInvalid(
            [
                Problem(
                    f"Not valid BPMN 2.0: {_readable_xsd_message(str(exc.args[0]))}",
                    file=name,
                    line=exc.line_number or None,
                )
            ]
        )
    errors = list(validator.validator.error_log)
    if errors:
        raise DefinitionInvalid(
            [
                Problem(f"Not valid BPMN 2.0: {_readable_xsd_message(e.message)}", file=name, line=e.line)
                for e in errors[:10]
            ]
        )
