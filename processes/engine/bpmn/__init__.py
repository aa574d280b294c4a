"""Reading BPMN and DMN: safe XML, preprocessing, the dialects, validation, metadata, the
compatibility report, and building specs. ``processes.engine.parser`` re-exports it all."""

from .bundle import (  # noqa: F401
    BudgetedDMNEngine,
    build_specs,
    validate_bundle,
)
from .compatibility import (  # noqa: F401
    compatibility_report,
)
from .constants import (  # noqa: F401
    BPMN_NS,
    CAMUNDA_NS,
    DEFAULT_MAX_BYTES,
    DIALECT_CAMUNDA,
    DIALECT_SPIFF,
    DMN_NAMESPACES,
    NS,
    SPIFF_NS,
    ZEEBE_NS,
)
from .dialects import (  # noqa: F401
    PARSERS,
    ConnectorServiceTask,
    EngineCamundaEndEventParser,
    EngineCamundaParser,
    EngineCamundaSubWorkflowParser,
    EngineServiceTaskParser,
    EngineSpiffEndEventParser,
    EngineSpiffParser,
    EngineSpiffServiceTaskParser,
    ExternalServiceTask,
    PassThroughServiceTask,
    TriggeredReceiveTask,
    has_connector,
)
from .metadata import (  # noqa: F401
    element_metadata,
    history_ttl_days,
)
from .preprocess import (  # noqa: F401
    _preprocess,
    approval_properties,
)
from .results import (  # noqa: F401
    BundleReport,
    CompatibilityNote,
    DefinitionInvalid,
    Problem,
    ProcessInfo,
    SourceFile,
)
from .scan import (  # noqa: F401
    called_decisions,
    called_processes,
    decision_ids,
    process_ids,
)
from .xml import (  # noqa: F401
    _xml_parser,
    as_utf8,
    dialect_of,
    kind_of,
    parsed_once,
    read_xml,
)
