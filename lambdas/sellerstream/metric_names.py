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
# With auto_rotate_app_secret: Amazon refused the rotation an expiry notice asked for (e.g. the app
# is not enrolled for rotation notifications); the notice is applied, SecretExpiring still watches.
LWA_CLIENT_SECRET_ROTATION_FAILURES = "LwaClientSecretRotationFailures"  # noqa: S105 - a metric name

# Notifications parked because their envelope or payload version is one the consumer does not read
# yet (kept in the DLQ with reason unsupported_payload_version): per function (alarmed), and per
# notification type and version (which version to learn).
UNSUPPORTED_PAYLOAD_VERSIONS = "UnsupportedPayloadVersions"

SERVICE_DIMENSION = "service"
OPERATION_DIMENSION = "operation"
NOTIFICATION_TYPE_DIMENSION = "notification_type"
PAYLOAD_VERSION_DIMENSION = "version"
# SellerCredentialsFailures is also emitted per seller (service + seller): which seller to ask to
# re-authorise, and alarmable for one seller. A metric exists only for sellers that failed.
SELLER_DIMENSION = "seller"
REGION_DIMENSION = "region"  # an SP-API region (NA, EU, FE), beside the seller

# ORDER_CHANGE served without a call of its own: the stored order was already at least as new as
# the change it announces when it arrived (skipped), or when its drainer came to it (coalesced).
NOTIFICATIONS_SKIPPED = "NotificationsSkipped"
NOTIFICATIONS_COALESCED = "NotificationsCoalesced"
# SP-API answered with a state older than the notification's change (read-after-publish lag):
# asked again later, or after an hour stored as answered.
STALE_CALLBACKS = "StaleCallbacks"
STALE_CALLBACKS_ACCEPTED = "StaleCallbacksAccepted"
# A drainer's searchOrders pages and the orders they stored.
BACKLOG_SEARCH_PAGES = "BacklogSearchPages"
BACKLOG_ORDERS_STORED = "BacklogOrdersStored"
# Seconds since the change of the least recently changed order a drainer found pending (the Orders
# backlog's age).
PENDING_ORDER_AGE = "PendingOrderAge"
# Reconciliation (searchOrders over a window, per seller): pages read, orders stored because the
# table lacked them or held an older state, and sellers whose run failed (alarmed).
RECONCILE_PAGES = "ReconcilePages"
RECONCILE_ORDERS_REFRESHED = "ReconcileOrdersRefreshed"
RECONCILE_FAILURES = "ReconcileFailures"
# Listings reconciliation (searchListingsItems per seller and marketplace): pages read, and listings
# stored because the table lacked them or held an older version (failures count as above).
RECONCILE_LISTINGS_PAGES = "ReconcileListingsPages"
RECONCILE_LISTINGS_REFRESHED = "ReconcileListingsRefreshed"
# Shipment requests (fulfillment queue): packages confirmed with Amazon for the first time, changes
# to a confirmed package (a tracking update) accepted by Amazon, and requests refused before any
# call because they contradict what is stored (also counted as PoisonMessages; their copy is in the DLQ).
SHIPMENTS_CONFIRMED = "ShipmentsConfirmed"
SHIPMENTS_UPDATED = "ShipmentsUpdated"
SHIPMENTS_REFUSED = "ShipmentsRefused"
# Change events (the tables' change streams to SellerStream's bus): events published, stream records
# of writes that stored no newer version (no event), PutEvents entries retried, and events
# EventBridge refused for good (whole, on the publisher's DLQ; alarmed).
CHANGE_EVENTS_PUBLISHED = "ChangeEventsPublished"
CHANGE_EVENTS_UNCHANGED = "ChangeEventsUnchanged"
CHANGE_EVENTS_RETRIED = "ChangeEventsRetried"
CHANGE_EVENTS_DEAD_LETTERED = "ChangeEventsDeadLettered"
# The onboarding API (Amazon's authorization workflows): a seller's refresh token stored for a
# region; logins and redirects refused before any exchange (a state tampered with or expired, a
# callback URI not Amazon's, a malformed seller id or request); authorization codes LWA refused
# (reused or expired: the seller starts again); authorizations lost to LWA being unreachable or the
# token not being stored (the seller starts again; alarmable); and sellers stored whose marketplaces
# or subscriptions failed (``sellerstream subscribe`` completes them).
ONBOARDING_SELLERS_AUTHORIZED = "OnboardingSellersAuthorized"
ONBOARDING_REQUESTS_REFUSED = "OnboardingRequestsRefused"
ONBOARDING_CODES_REFUSED = "OnboardingCodesRefused"
ONBOARDING_FAILURES = "OnboardingFailures"
ONBOARDING_INCOMPLETE = "OnboardingIncomplete"
