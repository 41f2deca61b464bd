"""The deployed stack's outputs: from CloudFormation, or from a ``cdk deploy --outputs-file`` JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from sellerstream import catalog
from sellerstream.config import SpApiSettings
from sellerstream_ops.errors import OperatorError

# What local mode and tests point at the emulator (unset in production: Amazon's endpoints).
OVERRIDABLE = ("spapi_endpoint_override", "lwa_endpoint_override", "spapi_sandbox")

DEPLOY_HINT = "deploy it first (make deploy), or name it with --stack or --stage"


class StackOutputs:
    def __init__(self, values: dict[str, str], stack_name: str = "SellerStream") -> None:
        self.values = values
        self.stack_name = stack_name

    @classmethod
    def from_file(cls, path: Path, stack_name: str | None) -> StackOutputs:
        """``stack_name`` None: the file's only stack (``cdk deploy --outputs-file`` writes one per stack)."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise OperatorError(f"--outputs-file {path}: no such file") from None
        except (OSError, UnicodeDecodeError) as error:
            raise OperatorError(f"--outputs-file {path}: cannot be read ({type(error).__name__})") from None
        try:
            document = json.loads(text)
        except ValueError:
            raise OperatorError(
                f"--outputs-file {path}: not JSON (expected the file `cdk deploy --outputs-file` writes)"
            ) from None
        if not isinstance(document, dict) or not document:
            raise OperatorError(f"--outputs-file {path}: expected a JSON object of stacks and their outputs")
        stacks = {name: outputs for name, outputs in document.items() if isinstance(outputs, dict)}
        if not stacks:
            # A plain {"OutputKey": "value"} object: one stack's outputs.
            return cls(_strings(document, path), stack_name or "SellerStream")
        if stack_name is None:
            if len(stacks) != 1:
                raise OperatorError(
                    f"--outputs-file {path} holds stacks {', '.join(sorted(stacks))}: name one with --stack"
                )
            [(stack_name, outputs)] = stacks.items()
        elif stack_name not in stacks:
            raise OperatorError(
                f"--outputs-file {path} has no stack {stack_name!r} (it holds {', '.join(sorted(stacks))})"
            )
        else:
            outputs = stacks[stack_name]
        return cls(_strings(outputs, path), stack_name)

    @classmethod
    def from_cloudformation(cls, cloudformation: Any, stack_name: str, region: str) -> StackOutputs:
        try:
            stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
        except ClientError as error:
            message = str(error.response.get("Error", {}).get("Message", ""))
            if "does not exist" in message:
                raise OperatorError(f"no stack {stack_name!r} in {region}: {DEPLOY_HINT}") from None
            raise
        [stack] = stacks
        status = str(stack.get("StackStatus", ""))
        if status in ("CREATE_IN_PROGRESS", "CREATE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_IN_PROGRESS"):
            raise OperatorError(f"stack {stack_name!r} in {region} is {status}: {DEPLOY_HINT}")
        outputs = {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}
        return cls(outputs, stack_name)

    def __getitem__(self, output_id: str) -> str:
        try:
            return self.values[output_id]
        except KeyError:
            raise OperatorError(
                f"stack {self.stack_name!r} has no output {output_id!r}: deploy the current version (make deploy)"
            ) from None

    def get(self, output_id: str) -> str | None:
        return self.values.get(output_id)

    def settings(self, environment: Mapping[str, str] | None = None) -> SpApiSettings:
        """What calling SP-API and reading the accounts table need, from the outputs (as the stack
        gives its functions); local mode's endpoints (and the sandbox flag) from ``environment``."""
        values = {
            "accounts_table_name": self[catalog.ACCOUNTS_TABLE.output],
            "lwa_app_secret_id": self[catalog.StackOutputs.LWA_APP_SECRET_ARN],
            "seller_secret_prefix": self[catalog.StackOutputs.SELLER_SECRET_PREFIX],
            "rate_budget_table_name": self.get(catalog.RATE_BUDGET_TABLE.output),
            "secrets_cache_seconds": 0,
        }
        fields = SpApiSettings.fields()
        overrides = {
            fields[name].variable: (environment or {})[fields[name].variable]
            for name in OVERRIDABLE
            if fields[name].variable in (environment or {})
        }
        return SpApiSettings.from_environment({**SpApiSettings.environment(values), **overrides})

    @property
    def region(self) -> str | None:
        """The region in the outputs' ARNs (every resource of the stack lives in it)."""
        for value in self.values.values():
            parts = value.split(":")
            if value.startswith("arn:") and len(parts) > 4 and parts[3]:
                return parts[3]
        return None


def _strings(outputs: dict[str, Any], path: Path) -> dict[str, str]:
    if not all(isinstance(value, str) for value in outputs.values()):
        raise OperatorError(f"--outputs-file {path}: output values must be strings")
    return dict(outputs)
