"""Every tunable of the deployed pipeline, in one place.

Pure Python (no CDK imports) so local mode builds the same queues and tables from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

APP_NAME: Final = "SellerStream"

# Amazon's SP-API notifications service publishes to SQS from this account (Amazon's docs).
SPAPI_NOTIFICATIONS_ACCOUNT_ID: Final = "437568002678"

# Secrets Manager names. The LWA app secret holds {"client_id", "client_secret"};
# each seller's secret, named SELLER_SECRET_PREFIX + seller id, holds {"refresh_token", "region"}.
# These are the unstaged deployment's names (and local mode's); a stage gets its own, see StageNames.
LWA_APP_SECRET_NAME: Final = "sellerstream/lwa-app"
SELLER_SECRET_PREFIX: Final = "sellerstream/sellers/"
LISTINGS_RULE_NAME: Final = "sellerstream-listings-item-status-change"

# A stage (context key ``stage``) lets e.g. staging and production live in one account and region.
# Lowercase so one spelling fits every name it enters (stack, secrets, rule, dashboard); short so
# the rule name stays under EventBridge's 64 characters.
STAGE_PATTERN: Final = re.compile(r"[a-z][a-z0-9-]{0,19}")


@dataclass(frozen=True)
class StageNames:
    """Every name the stack sets explicitly, derived from the stage.

    No stage keeps the names a deployment had before stages existed, so it updates in place: a new
    stack id would be a second stack, and a new secret name would replace the LWA app secret with
    a placeholder. A stage's secrets live under ``sellerstream-<stage>/``, which no other stage's
    prefix (nor the unstaged ``sellerstream/``) can match.
    """

    stage: str | None = None

    def __post_init__(self) -> None:
        if self.stage is not None and not STAGE_PATTERN.fullmatch(self.stage):
            raise ValueError(
                f"stage must be 1-20 lowercase letters, digits or hyphens, starting with a letter, "
                f"not {self.stage!r}"
            )

    @property
    def _prefix(self) -> str:
        return f"sellerstream-{self.stage}" if self.stage else "sellerstream"

    @property
    def stack_id(self) -> str:
        return f"{APP_NAME}-{self.stage}" if self.stage else APP_NAME

    @property
    def lwa_app_secret_name(self) -> str:
        return f"{self._prefix}/lwa-app" if self.stage else LWA_APP_SECRET_NAME

    @property
    def seller_secret_prefix(self) -> str:
        return f"{self._prefix}/sellers/" if self.stage else SELLER_SECRET_PREFIX

    @property
    def listings_rule_name(self) -> str:
        return f"{self._prefix}-listings-item-status-change" if self.stage else LISTINGS_RULE_NAME

    @property
    def dashboard_name(self) -> str:
        return self.stack_id

    @property
    def events_bus_name(self) -> str:
        """SellerStream's own event bus: ``sellerstream``, or ``sellerstream-<stage>``."""
        return self._prefix

    @property
    def events_archive_name(self) -> str:
        # EventBridge allows 48 characters: the longest stage's is 41.
        return f"{self._prefix}-archive"


# Lambda runtime settings shared by every consumer: the newest Python runtime Lambda offers, on
# arm64 (Graviton: cheaper per ms than x86_64). Its OS is Amazon Linux 2023 (glibc 2.34); the
# dependency layer takes wheels built for exactly this CPython ABI, glibc and CPU, and the code and
# layer ship bytecode for this Python version (stacks/bundling.py).
LAMBDA_RUNTIME_PYTHON: Final = "3.14"
LAMBDA_ARCHITECTURE: Final = "arm64"
LAMBDA_MACHINE: Final = "aarch64"
LAMBDA_GLIBC: Final = (2, 34)
LOG_RETENTION_DAYS: Final = 30

# Reconciliation's interval (context key ``reconcile_interval_minutes``) and its windows.
RECONCILE_INTERVAL_MINUTES: Final = 60
MIN_RECONCILE_INTERVAL_MINUTES: Final = 5
MAX_RECONCILE_INTERVAL_MINUTES: Final = 24 * 60
RECONCILE_OVERLAP_SECONDS: Final = 15 * 60
RECONCILE_FIRST_WINDOW_SECONDS: Final = 24 * 3600
# The client id the stack writes into the LWA app secret it creates, until the operator sets the app's.
LWA_PLACEHOLDER_CLIENT_ID: Final = "REPLACE_WITH_LWA_CLIENT_ID"

# Raw report documents are kept this long (they can hold buyer data: Amazon's 30-day rule, with the
# days DynamoDB and S3 take to delete what has expired). The bucket keeps no versions.
REPORT_DOCUMENT_RETENTION_DAYS: Final = 28
# Report rows (which can hold the same buyer data) expire after the same time by default
# (``cdk deploy -c report_rows_retention_days=N`` changes it); their table keeps no backups.
REPORT_ROWS_RETENTION_DAYS: Final = REPORT_DOCUMENT_RETENTION_DAYS
# SP-API's events on the partner bus: Amazon's EventBridge tutorial matches their source by this
# prefix; each carries the notification type as its detail-type (catalog.eventbridge_detail_types).
PARTNER_EVENT_SOURCE_PREFIX: Final = "aws.partner/sellingpartnerapi.amazon.com"


def partner_event_pattern(detail_types: tuple[str, ...]) -> dict[str, list[Any]]:
    """A partner bus rule's event pattern (EventBridge JSON), for the stack and local mode alike."""
    return {"source": [{"prefix": PARTNER_EVENT_SOURCE_PREFIX}], "detail-type": list(detail_types)}


METRICS_NAMESPACE: Final = "SellerStream"
# Alarm when the oldest message waits longer than this: the consumer is falling behind.
OLDEST_MESSAGE_ALARM_SECONDS: Final = 15 * 60
# Period of the alarms on counts (dead letters, the catalog's own) and of the dashboard's graphs.
ALARM_PERIOD_SECONDS: Final = 5 * 60
LAG_ALARM_PERIOD_SECONDS: Final = 15 * 60
# CloudWatch evaluates an alarm with a one-hour period over at most seven days.
MAX_QUIET_ALARM_HOURS: Final = 7 * 24
# The listings rule retries a failed delivery for up to a day (EventBridge's maximum), then
# dead-letters the event to the rule's own DLQ.
LISTINGS_RULE_MAX_EVENT_AGE_SECONDS: Final = 24 * 3600
LISTINGS_RULE_MAX_RETRY_ATTEMPTS: Final = 185

# SellerStream's own bus (context keys ``events_archive_days``, ``events_include_pii``,
# ``events_destinations``): its archive keeps a week of events to replay unless told otherwise
# (0: no archive).
EVENTS_ARCHIVE_DAYS: Final = 7
# The change-events publisher falls behind its tables' streams: the oldest record of a batch it
# read was stored this long before (IteratorAge, maximum over the period).
CHANGE_EVENTS_ITERATOR_AGE_ALARM_SECONDS: Final = 5 * 60
# A destination's rule retries a failed delivery for up to a day, as the listings rule does, then
# dead-letters the event to the destination's own DLQ.
DESTINATION_MAX_EVENT_AGE_SECONDS: Final = LISTINGS_RULE_MAX_EVENT_AGE_SECONDS
DESTINATION_MAX_RETRY_ATTEMPTS: Final = LISTINGS_RULE_MAX_RETRY_ATTEMPTS
