"""The application's own notifications about its LWA client secret (camelCase envelope).

``APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY`` says when the application's current client secret
expires; ``APPLICATION_OAUTH_CLIENT_NEW_SECRET`` carries a new client secret (after
``rotateApplicationClientSecret``, or a rotation Amazon starts) and when the old one stops working.
Both are application-level (no seller) and delivered to SQS only. Shapes as in Amazon's Application
Management use case guide and its credential-rotation sample (``use-cases/lwa-rotation`` of
amzn/selling-partner-api-samples): payload version "2023-11-30".

The new secret is a ``SecretStr``: its repr, ``model_dump`` and validation errors never show it.
Only the client id and the times are required beyond the secret itself, so a notification that
omits an expiry time still delivers its secret.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, SecretStr

from sellerstream.notifications.common import (
    WHOLE_NOTIFICATION,
    AmazonModel,
    CamelEnvelope,
    LwaClientId,
    Timestamp,
    Word,
)

# LWA client secrets are printable ASCII tokens ("amzn1.oa2-cs.v1.8b6…" in Amazon's sample).
_CLIENT_SECRET = re.compile(r"[\x21-\x7e]{1,512}")


def _usable_secret(value: SecretStr) -> SecretStr:
    if not _CLIENT_SECRET.fullmatch(value.get_secret_value()):
        raise ValueError("must be 1 to 512 printable ASCII characters without spaces")
    return value


ClientSecret = Annotated[SecretStr, AfterValidator(_usable_secret)]


class NewClientSecret(AmazonModel):
    client_id: LwaClientId = Field(alias="clientId")
    new_client_secret: ClientSecret = Field(alias="newClientSecret", repr=False)
    new_client_secret_expiry_time: Timestamp | None = Field(None, alias="newClientSecretExpiryTime")
    old_client_secret_expiry_time: Timestamp | None = Field(None, alias="oldClientSecretExpiryTime")


class NewClientSecretPayload(AmazonModel):
    new_secret: NewClientSecret = Field(alias="applicationOAuthClientNewSecret")


class ApplicationOAuthClientNewSecretNotification(CamelEnvelope):
    model_config = WHOLE_NOTIFICATION

    notification_type: Literal["APPLICATION_OAUTH_CLIENT_NEW_SECRET"] = Field(alias="notificationType")
    payload: NewClientSecretPayload = Field(alias="payload")

    @property
    def seller_id(self) -> str | None:
        return None


class ClientSecretExpiry(AmazonModel):
    client_id: LwaClientId = Field(alias="clientId")
    client_secret_expiry_time: Timestamp = Field(alias="clientSecretExpiryTime")
    # "PERIODIC_ROTATION" in Amazon's sample; kept open like every enumeration.
    client_secret_expiry_reason: Word | None = Field(None, alias="clientSecretExpiryReason")


class ClientSecretExpiryPayload(AmazonModel):
    expiry: ClientSecretExpiry = Field(alias="applicationOAuthClientSecretExpiry")


class ApplicationOAuthClientSecretExpiryNotification(CamelEnvelope):
    model_config = WHOLE_NOTIFICATION

    notification_type: Literal["APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY"] = Field(alias="notificationType")
    payload: ClientSecretExpiryPayload = Field(alias="payload")

    @property
    def seller_id(self) -> str | None:
        return None
