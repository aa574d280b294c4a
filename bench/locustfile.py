"""Load for bench/api_http.py: each simulated ERP starts an instance, then completes its step."""

import os
import uuid

from locust import HttpUser, between, task

TOKEN = os.environ["BENCH_TOKEN"]


class Erp(HttpUser):
    wait_time = between(0, 0)

    def on_start(self):
        self.client.headers.update({"Authorization": f"Bearer {TOKEN}"})

    @task
    def start_then_complete(self):
        response = self.client.post(
            "/api/v1/instances/",
            json={"definition_key": "bench_http", "business_key": uuid.uuid4().hex, "variables": {"amount": 5}},
            name="start instance",
        )
        if response.status_code != 201:
            response.failure(f"start: {response.status_code}") if hasattr(response, "failure") else None
            return
        instance = response.json()
        step = instance["waiting"][0]["spiff_task_id"]
        self.client.post(
            f"/api/v1/instances/{instance['id']}/steps/{step}/complete/",
            json={"data": {"approved": True}},
            name="complete step",
        )
