"""The web page for teams moving from Camunda 7 (beside /engine-rest, under /camunda/)."""

from django.urls import path

from . import pages

app_name = "camunda"
urlpatterns = [path("", pages.migration, name="migration")]
