"""Names of the metrics the runtime emits (namespace from POWERTOOLS_METRICS_NAMESPACE)."""

NOTIFICATIONS_PROCESSED = "NotificationsProcessed"
NOTIFICATIONS_FAILED = "NotificationsFailed"
POISON_MESSAGES = "PoisonMessages"
DUPLICATE_NOTIFICATIONS = "DuplicateNotifications"
THROTTLE_DEFERRALS = "ThrottleDeferrals"
SPAPI_CALLS = "SpApiCalls"
SPAPI_THROTTLES = "SpApiThrottles"
SPAPI_LATENCY = "SpApiLatency"
EVENT_TO_STORE_LAG = "EventToStoreLag"

# ORDER_CHANGE acknowledged without a call of its own: the stored order was already at least as new
# as the change it announces (skipped), another notification of the batch carried the call
# (coalesced), or a newer notification of the same order waits in its place (superseded).
NOTIFICATIONS_SKIPPED = "NotificationsSkipped"
NOTIFICATIONS_COALESCED = "NotificationsCoalesced"
NOTIFICATIONS_SUPERSEDED = "NotificationsSuperseded"
# SP-API answered with a state older than the notification's change (read-after-publish lag):
# deferred, or after an hour stored as answered.
STALE_CALLBACKS = "StaleCallbacks"
STALE_CALLBACKS_ACCEPTED = "StaleCallbacksAccepted"
# Backlog mode: searchOrders pages fetched and the orders they stored.
BACKLOG_SEARCH_PAGES = "BacklogSearchPages"
BACKLOG_ORDERS_STORED = "BacklogOrdersStored"
