"""The deployed stack's outputs: from CloudFormation, or from a ``cdk deploy --outputs-file`` JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from sellerstream.config import Settings
from sellerstream_ops.errors import OperatorError
from stacks import constants

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

    def settings(self, overrides: dict[str, str] | None = None) -> Settings:
        """What the runtime's modules need, from the outputs (as the stack gives its functions)."""
        return Settings.from_environment(
            {
                "IDEMPOTENCY_TABLE_NAME": self.get(constants.OUTPUT_IDEMPOTENCY_TABLE) or "unused",
                "ACCOUNTS_TABLE_NAME": self[constants.OUTPUT_ACCOUNTS_TABLE],
                "LWA_APP_SECRET_ID": self[constants.OUTPUT_LWA_SECRET_ARN],
                "SELLER_SECRET_PREFIX": self[constants.OUTPUT_SELLER_SECRET_PREFIX],
                "SECRETS_CACHE_SECONDS": "0",
                **(overrides or {}),
            }
        )

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
