"""OpenAPI: the OAuth2 client-credentials security scheme with the product's scopes."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from .scopes import SCOPES


class ClientCredentialsScheme(OpenApiAuthenticationExtension):
    target_class = "integrations.auth.ClientCredentialsAuthentication"
    name = "oauth2"

    def get_security_definition(self, auto_schema):
        return {
            "type": "oauth2",
            "description": "Client credentials for systems (ERP, HR); see docs/API.md.",
            "flows": {"clientCredentials": {"tokenUrl": "/oauth/token/", "scopes": SCOPES}},
        }

    def get_security_requirement(self, auto_schema):
        from .auth import required_scope

        view = auto_schema.view
        request = view.request
        scope = required_scope(request, view) if request is not None else None
        return {self.name: [scope] if scope else []}
