"""CloudWatch metric names the functions emit (namespace ``SellerStream``), as plain constants.

Every metric carries the ``service`` dimension (the function's POWERTOOLS_SERVICE_NAME); the SP-API
call and throttle counts are also emitted with an ``operation`` dimension. The stack's alarms and
dashboard read these names, so a rename here is a rename there.
"""

NOTIFICATIONS_PROCESSED = "NotificationsProcessed"
NOTIFICATIONS_FAILED = "NotificationsFailed"
POISON_MESSAGES = "PoisonMessages"
DUPLICATE_NOTIFICATIONS = "DuplicateNotifications"
THROTTLE_DEFERRALS = "ThrottleDeferrals"
EVENT_TO_STORE_LAG = "EventToStoreLag"
SP_API_CALLS = "SpApiCalls"
SP_API_THROTTLES = "SpApiThrottles"
SP_API_LATENCY = "SpApiLatency"
# A seller's credentials are unusable (LWA rejected the refresh token, or the secret is malformed).
SELLER_CREDENTIALS_FAILURES = "SellerCredentialsFailures"
# A report document (or a FATAL report's error document) that its declared charset cannot decode:
# its raw copy is kept, the report is recorded FAILED with the reason. Alarmed.
REPORT_DECODE_FAILURES = "ReportDecodeFailures"
# Days until the application's current LWA client secret expires (app-credentials consumer, hourly,
# once the expiry is known): alarmed when it falls below the warning days without a new secret.
LWA_CLIENT_SECRET_DAYS_LEFT = "LwaClientSecretDaysLeft"  # noqa: S105 - a metric name

SERVICE_DIMENSION = "service"
OPERATION_DIMENSION = "operation"
