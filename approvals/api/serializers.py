from rest_framework import serializers

from ..models import Approval, Outcome


class ApprovalSerializer(serializers.ModelSerializer):
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    on_behalf_of = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Approval
        fields = [
            "id",
            "instance",
            "task",
            "element_id",
            "chain",
            "level",
            "level_name",
            "outcome",
            "comment",
            "decided_by",
            "on_behalf_of",
            "decided_at",
        ]
        read_only_fields = fields


class DecisionSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    data = serializers.DictField(required=False, default=dict, help_text="Values of the task's form fields")
