from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from oauth2_provider import views as oauth2_views

from integrations import views as integration_views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="tasks:inbox", permanent=False)),
    # browsers ask for /favicon.ico on pages without a <link rel=icon> (the admin, raw files)
    path("favicon.ico", RedirectView.as_view(url=f"/{settings.STATIC_URL.strip('/')}/favicon.svg", permanent=True)),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("processes/", include("processes.urls")),
    path("tasks/", include("tasks.urls")),
    path("approvals/", include("approvals.urls")),
    path("notifications/", include("notifications.urls")),
    path("dashboards/", include("dashboards.urls")),
    path("api/v1/", include("processes.api.urls")),
    path("api/v1/", include("tasks.api.urls")),
    path("api/v1/", include("approvals.api.urls")),
    path("api/v1/", include("notifications.api.urls")),
    path("api/v1/", include("integrations.urls")),
    path("api/v1/", include("dashboards.api.urls")),
    path(f"{settings.BPM['ENGINE_REST_PREFIX'].strip('/')}/", include("camunda_rest.urls")),
    path("camunda/", include("camunda_rest.page_urls")),
    path("metrics", integration_views.metrics, name="metrics"),
    path("oauth/token/", oauth2_views.TokenView.as_view(), name="oauth2-token"),
    path("oauth/revoke/", oauth2_views.RevokeTokenView.as_view(), name="oauth2-revoke"),
    path("oauth/introspect/", oauth2_views.IntrospectTokenView.as_view(), name="oauth2-introspect"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]

handler400 = "bpm.errors.bad_request"
handler403 = "bpm.errors.permission_denied"
handler404 = "bpm.errors.page_not_found"
handler500 = "bpm.errors.server_error"
