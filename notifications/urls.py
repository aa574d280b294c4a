from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("", views.notification_list, name="list"),
    path("read-all/", views.notification_read_all, name="read-all"),
    path("preferences/", views.notification_preferences, name="preferences"),
    path("<int:pk>/open/", views.notification_open, name="open"),
]
