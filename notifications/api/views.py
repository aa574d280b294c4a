"""REST API for administrators: webhook subscriptions (CRUD) and dead letters (list, replay)."""

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.settings import api_settings

from .. import services
from ..models import Delivery, DeliveryStatus, WebhookFormat, WebhookSubscription
from ..permissions import user_manages_webhooks


class ManagesWebhooks(BasePermission):
    """Administrators (the BPM Administrator role, or superusers)."""

    def has_permission(self, request, view):
        return user_manages_webhooks(request.user)


class SubscriptionSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookSubscription
        fields = ["id", "name", "url", "format", "event_types", "process_key", "active", "created_at"]
        read_only_fields = ["id", "created_at"]


class SubscriptionCreatedSerializer(SubscriptionSerializer):
    secret = serializers.CharField(read_only=True, help_text="Shown once: keep it to verify signatures")

    class Meta(SubscriptionSerializer.Meta):
        fields = [*SubscriptionSerializer.Meta.fields, "secret"]


class SubscriptionViewSet(viewsets.ModelViewSet):
    """Webhook subscriptions; the secret is returned once, when the subscription is created."""

    lookup_value_regex = r"[0-9]+"  # ids only: anything else is a 404, not a 500
    action_scopes = {"*": "webhooks:manage"}

    queryset = WebhookSubscription.objects.all()
    serializer_class = SubscriptionSerializer
    # The defaults (authenticated, token scope) and then the role: replacing them dropped the scope check.
    permission_classes = [*api_settings.DEFAULT_PERMISSION_CLASSES, ManagesWebhooks]

    @extend_schema(responses={201: SubscriptionCreatedSerializer})
    def create(self, request, *args, **kwargs):
        data = SubscriptionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        try:
            subscription, secret = services.subscription_create(
                name=v["name"],
                url=v["url"],
                event_types=v.get("event_types") or [],
                process_key=v.get("process_key", ""),
                format=v.get("format", WebhookFormat.STANDARD),
            )
        except ValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        subscription.secret = secret
        return Response(SubscriptionCreatedSerializer(subscription).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        try:
            serializer.instance = services.subscription_update(
                subscription_id=serializer.instance.pk, **serializer.validated_data
            )
        except ValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None

    def perform_destroy(self, instance):
        services.subscription_delete(subscription_id=instance.pk)

    @extend_schema(request=None, responses=SubscriptionCreatedSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        """A new signing secret, returned once."""
        subscription = self.get_object()
        subscription.secret = services.subscription_rotate_secret(subscription_id=subscription.pk)
        return Response(SubscriptionCreatedSerializer(subscription).data)


class DeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = Delivery
        fields = [
            "id",
            "message_id",
            "event_type",
            "channel",
            "subscription",
            "status",
            "attempts",
            "last_error",
            "created_at",
        ]


class DeadLetterViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Deliveries that ran out of retries."""

    lookup_value_regex = r"[0-9]+"  # ids only: anything else is a 404, not a 500
    action_scopes = {"*": "webhooks:manage"}

    serializer_class = DeliverySerializer
    # The defaults (authenticated, token scope) and then the role: replacing them dropped the scope check.
    permission_classes = [*api_settings.DEFAULT_PERMISSION_CLASSES, ManagesWebhooks]

    def get_queryset(self):
        return Delivery.objects.filter(status=DeliveryStatus.DEAD).order_by("-created_at")

    @extend_schema(request=None, responses=DeliverySerializer)
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        return Response(DeliverySerializer(services.delivery_replay(delivery_id=self.get_object().pk)).data)
