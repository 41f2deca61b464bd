"""Application Management API 2023-11-30: rotate the application's LWA client secret (grantless).

Amazon answers 204 without the secret: the new one arrives as an APPLICATION_OAUTH_CLIENT_NEW_SECRET
notification on the queue registered in the Developer Console, and the old one keeps working for
seven days. Without that registration Amazon refuses with 400 ("not enrolled for rotation
notification"), so a rotation can never lose the new secret.
"""

from __future__ import annotations

from sellerstream.spapi.client import SpApiClient

ROTATION_SCOPE = "sellingpartnerapi::client_credential:rotation"


class ApplicationsApi:
    def __init__(self, client: SpApiClient) -> None:
        self._client = client

    def rotate_client_secret(self) -> None:
        self._client.request(
            "rotateApplicationClientSecret",
            "POST",
            "/applications/2023-11-30/clientSecret",
            grantless_scope=ROTATION_SCOPE,
        )
