"""CloudWatch metric names (namespace ``SellerStream``), one place for alarms, dashboards and code."""

NOTIFICATIONS_PROCESSED = "NotificationsProcessed"
NOTIFICATIONS_FAILED = "NotificationsFailed"
POISON_MESSAGES = "PoisonMessages"
DUPLICATE_NOTIFICATIONS = "DuplicateNotifications"
THROTTLE_DEFERRALS = "ThrottleDeferrals"
SP_API_CALLS = "SpApiCalls"
SP_API_THROTTLES = "SpApiThrottles"
SP_API_LATENCY = "SpApiLatency"
EVENT_TO_STORE_LAG = "EventToStoreLag"
# A report document (or a FATAL report's error document) that its declared charset cannot decode:
# its raw copy is kept, the report is recorded FAILED with the reason. Alarmed.
REPORT_DECODE_FAILURES = "ReportDecodeFailures"
