#!/usr/bin/env bash
# Synthesizes the stack the way a deploy does (the pinned CDK CLI, cdk.json, cdk-nag): as deployed by
# default, as a stage with the partner bus and every notification type, and as a stage with two
# partner sources and the onboarding API; then lints the CloudFormation templates with cfn-lint.
# A CLI/library mismatch, a cdk-nag finding or a template error fails here, not a user.
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
# A seller in several SP-API regions: two partner sources (two buses and rules, one rule DLQ), and
# the onboarding API.
synth -c stage=regions \
  -c partner_event_source_names=aws.partner/sellingpartnerapi.amazon.com/123456789012/amzn1.sellerapps.app.na,aws.partner/sellingpartnerapi.amazon.com/123456789012/amzn1.sellerapps.app.eu \
  -c onboarding=true -c spapi_application_id=amzn1.sp.solution.00000000-0000-4000-8000-000000000001 \
  -c onboarding_draft_app=true
cp cdk.out/SellerStream-regions.template.json "$out/"

# .cfnlintrc.yaml holds the ignored checks and why; any other error or warning fails.
.venv/bin/cfn-lint "$out"/*.template.json
echo "cfn-lint: $(ls "$out" | wc -l) templates clean (default; a stage with the partner bus and every type;" \
  "a stage with two partner sources and the onboarding API)"
