from rest_framework import serializers

from ..models import HumanTask, TaskComment


class TaskSerializer(serializers.ModelSerializer):
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    completed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = HumanTask
        fields = [
            "id",
            "instance",
            "process_key",
            "business_key",
            "element_id",
            "kind",
            "name",
            "status",
            "assignee",
            "owner",
            "delegation_state",
            "priority",
            "due_at",
            "follow_up_at",
            "created_at",
            "claimed_at",
            "completed_at",
            "completed_by",
        ]


class TaskDetailSerializer(TaskSerializer):
    variables = serializers.JSONField(source="instance.variables", read_only=True)

    class Meta(TaskSerializer.Meta):
        fields = [*TaskSerializer.Meta.fields, "instructions", "form", "draft_data", "variables"]


class TaskDataSerializer(serializers.Serializer):
    data = serializers.DictField(required=False, default=dict, help_text="Form field values by field id")


class TaskUserSerializer(serializers.Serializer):
    user = serializers.CharField(max_length=150, help_text="Username")


class CommentSerializer(serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = TaskComment
        fields = ["id", "author", "text", "created_at"]
        read_only_fields = ["id", "author", "created_at"]
