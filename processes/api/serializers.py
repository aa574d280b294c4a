"""API input and output shapes for definitions, instances, messages and signals."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..engine.bpmn.metadata import MAX_TTL_DAYS
from ..models import HistoryEvent, Incident, ProcessDefinition, ProcessInstance, WaitingStep


class CompatibilityNoteSerializer(serializers.Serializer):
    element_id = serializers.CharField()
    line = serializers.IntegerField(allow_null=True)
    file = serializers.CharField()
    feature = serializers.CharField()
    effect = serializers.CharField()


class DefinitionSerializer(serializers.ModelSerializer):
    deployed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    compatibility = CompatibilityNoteSerializer(many=True, read_only=True)

    class Meta:
        model = ProcessDefinition
        fields = [
            "id",
            "key",
            "version",
            "name",
            "is_active",
            "is_suspended",
            "version_tag",
            "history_ttl_days",
            "dialect",
            "checksum",
            "deployment",
            "deployed_by",
            "deployed_at",
            "has_message_start",
            "has_timer_start",
            "compatibility",
        ]


class DefinitionDetailSerializer(DefinitionSerializer):
    class Meta(DefinitionSerializer.Meta):
        fields = [*DefinitionSerializer.Meta.fields, "elements"]


class DeployInputSerializer(serializers.Serializer):
    files = serializers.ListField(
        child=serializers.FileField(),
        allow_empty=False,
        help_text="One .bpmn file and the .bpmn/.dmn files it uses, or .zip archives of them",
    )
    name = serializers.CharField(required=False, allow_blank=True, max_length=255)


class DeployOutputSerializer(serializers.Serializer):
    deployment = serializers.IntegerField(allow_null=True, source="deployment.pk", default=None)
    created = DefinitionSerializer(many=True)
    unchanged = DefinitionSerializer(many=True)
    decisions_created = serializers.ListField(child=serializers.CharField(), source="decision_keys")
    changed_anything = serializers.BooleanField()
    message = serializers.CharField()
    compatibility = CompatibilityNoteSerializer(many=True)


class WaitingStepSerializer(serializers.ModelSerializer):
    class Meta:
        model = WaitingStep
        fields = ["spiff_task_id", "element_id", "element_type", "name", "kind", "event_name", "due_at", "created_at"]


class InstanceSerializer(serializers.ModelSerializer):
    definition_key = serializers.CharField(source="definition.key", read_only=True)
    definition_version = serializers.IntegerField(source="definition.version", read_only=True)
    started_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ProcessInstance
        fields = [
            "id",
            "definition",
            "definition_key",
            "definition_version",
            "business_key",
            "status",
            "error_message",
            "error_element_id",
            "started_by",
            "started_at",
            "ended_at",
        ]


class OpenIncidentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    element_id = serializers.CharField()
    message = serializers.CharField()
    created_at = serializers.DateTimeField()


class InstanceDetailSerializer(InstanceSerializer):
    waiting = WaitingStepSerializer(source="waiting_steps", many=True, read_only=True)
    incidents = serializers.SerializerMethodField(help_text="Open incidents (jobs out of retries)")

    class Meta(InstanceSerializer.Meta):
        fields = [*InstanceSerializer.Meta.fields, "variables", "waiting", "incidents"]

    @extend_schema_field(OpenIncidentSerializer(many=True))
    def get_incidents(self, instance):
        # through the relation, so rows the service already holds (a new instance: none) are used
        rows = sorted((i for i in instance.incidents.all() if i.resolved_at is None), key=lambda i: i.created_at)
        return OpenIncidentSerializer(rows, many=True).data


class InstanceStartSerializer(serializers.Serializer):
    definition_key = serializers.CharField(required=False, help_text="Start the active version of this key")
    definition_id = serializers.IntegerField(required=False, help_text="Start exactly this version")
    business_key = serializers.CharField(required=False, allow_blank=True, max_length=255, default="")
    variables = serializers.DictField(required=False, default=dict)

    def validate(self, attrs):
        if bool(attrs.get("definition_key")) == bool(attrs.get("definition_id")):
            raise serializers.ValidationError(
                {"definition_key": "Give exactly one of definition_key or definition_id."}
            )
        return attrs


class VariablesUpdateSerializer(serializers.Serializer):
    variables = serializers.DictField(required=False, default=dict, help_text="Variables to set (JSON values)")
    remove = serializers.ListField(
        child=serializers.CharField(max_length=255), required=False, default=list, help_text="Variables to remove"
    )

    def validate(self, attrs):
        if not attrs["variables"] and not attrs["remove"]:
            raise serializers.ValidationError({"variables": "Give variables to set or names to remove."})
        return attrs


class SuspendSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)


class StepCompleteSerializer(serializers.Serializer):
    data = serializers.DictField(required=False, default=dict)


class StepForceCompleteSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=1000, help_text="Why the step's rules are set aside (kept in the history)."
    )
    data = serializers.DictField(required=False, default=dict)


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)


class HistoryEventSerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = HistoryEvent
        fields = ["id", "kind", "element_id", "element_type", "element_name", "data", "actor", "created_at"]


class MessageCorrelateSerializer(serializers.Serializer):
    message_name = serializers.CharField(max_length=255)
    business_key = serializers.CharField(required=False, allow_blank=True, default="")
    correlation_keys = serializers.DictField(required=False, default=dict, help_text="Variables the instance must hold")
    local_correlation_keys = serializers.DictField(
        required=False,
        default=dict,
        help_text="Variables the waiting step itself must hold (e.g. a multi-instance item)",
    )
    payload = serializers.DictField(required=False, default=dict)
    all = serializers.BooleanField(required=False, default=False, help_text="Correlate every matching instance")
    message_id = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=255,
        help_text="Your id for this message: it is correlated at most once (409 afterwards)",
    )


class SignalSerializer(serializers.Serializer):
    signal_name = serializers.CharField(max_length=255)
    payload = serializers.DictField(required=False, default=dict)


class DecisionEvaluateSerializer(serializers.Serializer):
    variables = serializers.DictField(required=False, default=dict)
    version = serializers.IntegerField(required=False, min_value=1, help_text="A version; the latest by default")


class DecisionResultSerializer(serializers.Serializer):
    key = serializers.CharField()
    results = serializers.ListField(child=serializers.DictField(), help_text="One entry per matched rule")


class ConditionEvaluateSerializer(serializers.Serializer):
    variables = serializers.DictField(required=False, default=dict)
    business_key = serializers.CharField(required=False, allow_blank=True, default="", max_length=255)


class IncidentSerializer(serializers.ModelSerializer):
    resolved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    attempts = serializers.IntegerField(source="job.attempts", read_only=True)

    class Meta:
        model = Incident
        fields = ["id", "instance", "element_id", "message", "attempts", "created_at", "resolved_at", "resolved_by"]


class SuspendDefinitionSerializer(serializers.Serializer):
    include_instances = serializers.BooleanField(required=False, default=False)


class HistoryTtlSerializer(serializers.Serializer):
    days = serializers.IntegerField(
        min_value=0, max_value=MAX_TTL_DAYS, allow_null=True, help_text="null: the server's default"
    )
