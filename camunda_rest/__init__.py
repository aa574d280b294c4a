"""Camunda 7 REST compatibility (``/engine-rest/``): Camunda's request and response shapes over
our services, so Camunda Modeler, REST clients and external-task workers work unchanged.
Our own API (``/api/v1/``) stays the primary, documented one."""
