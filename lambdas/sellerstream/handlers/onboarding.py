"""Lambda entry point of the onboarding API (GET /login and GET /redirect of the HTTP API)."""

from sellerstream.handlers.entry import api_handler
from sellerstream.wiring.onboarding import run

lambda_handler = api_handler(run)
