#!/usr/bin/env bash
# Synthesizes the stack the way a deploy does (the pinned CDK CLI, cdk.json, cdk-nag): as deployed by
# default, and as a stage with the partner bus and every notification type; then lints both
# CloudFormation templates with cfn-lint. A CLI/library mismatch, a cdk-nag finding or a template error fails here, not a user.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export PATH="$PWD/node_modules/.bin:$PATH"
out=build/templates
rm -rf "$out"
mkdir -p "$out"

synth() {
  npm exec --no -- cdk synth --quiet --no-notices "$@"
}

synth
cp cdk.out/SellerStream.template.json "$out/"
synth -c stage=check -c notification_types=all \
  -c partner_event_source_name=aws.partner/sellingpartnerapi.amazon.com/123456789012/amzn1.sellerapps.app.check \
  -c alarm_email=alarms@example.com
cp cdk.out/SellerStream-check.template.json "$out/"

# .cfnlintrc.yaml holds the ignored checks and why; any other error or warning fails.
.venv/bin/cfn-lint "$out"/*.template.json
echo "cfn-lint: $(ls "$out" | wc -l) templates clean (default; a stage with the partner bus and every type)"
