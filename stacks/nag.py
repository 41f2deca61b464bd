"""cdk-nag's AWS Solutions pack, applied to the app; acknowledgements live next to their cause."""

from __future__ import annotations

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks


def apply_aws_solutions_checks(app: App) -> None:
    """Synthesis fails on any unacknowledged finding (errors and warnings alike)."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
