from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("webhook-subscriptions", views.SubscriptionViewSet, basename="webhook-subscription")
router.register("dead-letters", views.DeadLetterViewSet, basename="dead-letter")
urlpatterns = router.urls
