"""Stages: staging and production side by side in one account and region, names never shared."""

from __future__ import annotations

import json

import pytest

from sellerstream import catalog, config
from stacks import constants
from tests.infrastructure.conftest import STAGE, Synthesized
from tests.infrastructure.test_stack import HANDLERS, function, pattern_rules


def explicit_names(synthesized: Synthesized) -> dict[str, str]:
    [secret] = synthesized.resources("AWS::SecretsManager::Secret").values()
    names = {"secret": secret["Properties"]["Name"]}
    rules = list(pattern_rules(synthesized).values())
    if rules:
        names["rule"] = rules[0]["Properties"]["Name"]
    [dashboard] = synthesized.resources("AWS::CloudWatch::Dashboard").values()
    names["dashboard"] = dashboard["Properties"]["DashboardName"]["Fn::Join"][1][0]
    return names


# The consumers that call SP-API for sellers (the app-credentials consumer holds no seller's secret).
SELLER_CONSUMERS = [c.kind for c in catalog.CONSUMERS if issubclass(c.settings, config.SpApiSettings)]


def test_given_no_stage_then_todays_names_so_an_existing_deployment_updates_in_place(
    with_partner_bus: Synthesized,
) -> None:
    assert with_partner_bus.names.stack_id == "SellerStream"
    assert explicit_names(with_partner_bus) == {
        "secret": "sellerstream/lwa-app",
        "rule": "sellerstream-listings-item-status-change",
        "dashboard": "SellerStream-",
    }
    for kind in SELLER_CONSUMERS:
        variables = function(with_partner_bus, kind)["Environment"]["Variables"]
        assert variables["SELLER_SECRET_PREFIX"] == constants.SELLER_SECRET_PREFIX == "sellerstream/sellers/"


def test_given_a_stage_then_stack_secrets_rule_and_dashboard_names_derive_from_it(
    staged: Synthesized,
) -> None:
    prefix = f"sellerstream-{STAGE}/sellers/"

    assert staged.stack.node.id == f"SellerStream-{STAGE}"
    assert explicit_names(staged) == {
        "secret": f"sellerstream-{STAGE}/lwa-app",
        "rule": f"sellerstream-{STAGE}-listings-item-status-change",
        "dashboard": f"SellerStream-{STAGE}-",
    }
    assert staged.json["Outputs"]["SellerSecretPrefix"]["Value"] == prefix
    for kind in HANDLERS:
        variables = function(staged, kind)["Environment"]["Variables"]
        assert variables.get("SELLER_SECRET_PREFIX", prefix) == prefix
        assert variables["LWA_APP_SECRET_ID"] == {
            "Ref": next(iter(staged.resources("AWS::SecretsManager::Secret")))
        }
    policies = json.dumps(staged.resources("AWS::IAM::Policy"))
    assert f":secret:{prefix}*" in policies
    assert ":secret:sellerstream/sellers/*" not in policies


def test_given_a_stage_then_cdk_nag_still_clean(staged: Synthesized) -> None:
    [report] = [r for r in staged.validation_report["pluginReports"] if r["pluginName"] == "AwsSolutions"]

    assert report["violations"] == []


@pytest.mark.parametrize("stage", ["prod", "staging", "eu-2"])
def test_given_stages_then_no_stages_secret_prefix_covers_anothers_secrets(stage: str) -> None:
    staged, unstaged = constants.StageNames(stage), constants.StageNames()
    others = [constants.StageNames(f"{stage}x"), constants.StageNames("sellers"), unstaged]

    for other in others:
        for secret in (other.lwa_app_secret_name, f"{other.seller_secret_prefix}A1SELLER"):
            assert not secret.startswith(staged.seller_secret_prefix)
    assert not staged.lwa_app_secret_name.startswith(unstaged.seller_secret_prefix)
    assert not f"{staged.seller_secret_prefix}A1SELLER".startswith(unstaged.seller_secret_prefix)


@pytest.mark.parametrize("stage", ["Prod", "1st", "prod_eu", "a" * 21, "staging!"])
def test_given_an_invalid_stage_then_synthesis_refuses_with_a_clear_message(stage: str, tmp_path) -> None:
    from app import build_app

    with pytest.raises(SystemExit, match="stage must be 1-20 lowercase letters"):
        build_app(context={"stage": stage}, outdir=str(tmp_path))


def test_given_longest_stage_then_rule_name_fits_eventbridge() -> None:
    assert len(constants.StageNames("a" * 20).listings_rule_name) <= 64


def test_given_an_invalid_alarm_email_then_synthesis_refuses(tmp_path) -> None:
    from app import build_app

    with pytest.raises(SystemExit, match="alarm_email must be an e-mail address"):
        build_app(context={"alarm_email": "ops at example"}, outdir=str(tmp_path))
