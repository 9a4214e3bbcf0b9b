"""HTTP clients for the bench: one httpx client per simulated client, with a bearer token."""

import contextlib
from typing import Any

import httpx

from bench.load import RequestFailed


class ApiClient:
    def __init__(self, base_url: str, token: str) -> None:
        self.client = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    def post(self, path: str, body: Any) -> dict[str, Any]:
        return self._check(self.client.post(path, json=body))

    def get(self, path: str) -> dict[str, Any]:
        return self._check(self.client.get(path))

    @staticmethod
    def _check(response: httpx.Response) -> dict[str, Any]:
        if response.status_code >= 300:
            kind = ""
            with contextlib.suppress(ValueError):
                kind = str(response.json().get("type", "")).rsplit("/", 1)[-1]
            raise RequestFailed(f"{response.status_code} {kind}".strip())
        body: dict[str, Any] = response.json()
        return body

    def close(self) -> None:
        self.client.close()
