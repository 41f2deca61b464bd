"""Lambda entry points, a few lines each: ``lambda_handler = sqs_notification_handler(<use case>)``.

Importing a handler loads every module its function uses: that is the cold start. The cyclic
garbage collector pauses meanwhile, because what loads lives as long as the container and tracing
it over and over while it grows only costs start-up time. ``sqs_notification_handler``, the last
statement of every handler module, freezes what was loaded (later collections skip it) and resumes
collecting.
"""

import gc

gc.disable()
