"""Lists: page numbers with a total by default; a cursor for large lists (``?cursor=`` to
start): stable while rows are added, and no COUNT over millions of rows."""

from rest_framework.pagination import CursorPagination, PageNumberPagination


class _Cursor(CursorPagination):
    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 500


class StandardPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500

    def paginate_queryset(self, queryset, request, view=None):
        self._cursor = None
        if "cursor" in request.query_params:
            self._cursor = _Cursor()
            self._cursor.page_size = self.get_page_size(request)
            return self._cursor.paginate_queryset(queryset, request, view)
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        if self._cursor is not None:
            return self._cursor.get_paginated_response(data)
        return super().get_paginated_response(data)

    def get_paginated_response_schema(self, schema):
        page = super().get_paginated_response_schema(schema)
        page["required"] = ["results"]  # no count in cursor mode
        page["properties"]["count"]["description"] = "Total (page-number mode only)"
        return page

    def get_schema_operation_parameters(self, view):
        cursor = {
            "name": "cursor",
            "required": False,
            "in": "query",
            "description": "Cursor pagination for large lists: pass it empty to start, then follow `next`.",
            "schema": {"type": "string"},
        }
        return [*super().get_schema_operation_parameters(view), cursor]
