"""Read uploaded BPMN and DMN files safely, validate them, and build SpiffWorkflow specs.

The order of checks, each with the element id and line where it can name one:
safe XML (no DTD, no entities, no network, a size limit) -> BPMN or DMN root ->
the BPMN 2.0 XSD -> at least one executable process -> SpiffWorkflow's parser
(our dialect subclasses) -> called processes and decisions exist -> every script
and expression compiles in the restricted environment.

Two dialects, chosen per file by the namespaces it uses: Spiff (spiffworkflow:
extensions) and Camunda (everything else; a superset of plain BPMN). Before either
parser sees a document, ``_preprocess`` rewrites what SpiffWorkflow 3.2.0 would
get wrong: link events become sequence flows, and a signal end event becomes a
signal throw followed by a plain end.
"""

# The reading of BPMN/DMN lives in processes/engine/bpmn/, one module per section; this name
# stays the one the rest of the code imports.
from .bpmn import *  # noqa: F403
from .bpmn import _preprocess, _xml_parser  # noqa: F401
