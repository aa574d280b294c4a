from django.urls import path

from . import admin_views, views

app_name = "notifications"

urlpatterns = [
    path("", views.notification_list, name="list"),
    path("read-all/", views.notification_read_all, name="read-all"),
    path("preferences/", views.notification_preferences, name="preferences"),
    path("<int:pk>/open/", views.notification_open, name="open"),
    path("webhooks/", admin_views.subscription_list, name="webhooks"),
    path("webhooks/new/", admin_views.subscription_new, name="webhook-new"),
    path("webhooks/<int:pk>/", admin_views.subscription_edit, name="webhook-edit"),
    path("webhooks/<int:pk>/rotate-secret/", admin_views.subscription_rotate, name="webhook-rotate"),
    path("webhooks/<int:pk>/delete/", admin_views.subscription_delete, name="webhook-delete"),
    path("dead-letters/", admin_views.dead_letter_list, name="dead-letters"),
    path("dead-letters/<int:pk>/replay/", admin_views.dead_letter_replay, name="dead-letter-replay"),
    path("dead-letters/replay-all/", admin_views.dead_letter_replay_all, name="dead-letters-replay-all"),
]
