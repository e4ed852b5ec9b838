"""exports/rls_rules.py: one data set's tag-based RLS as QuickSight evaluates it (shared with quicksight_local)."""

from __future__ import annotations

import pytest

from exports.rls_rules import TagConfiguration

REGION = {"TagKey": "region", "ColumnName": "region", "MatchAllValue": "*", "TagMultiValueDelimiter": ","}
SEGMENT = {"TagKey": "segment", "ColumnName": "segment", "TagMultiValueDelimiter": ","}
MANAGER = {"TagKey": "manager", "ColumnName": "account_manager"}
ALL_RULES = TagConfiguration.from_api({"Status": "ENABLED", "TagRules": [REGION, SEGMENT]})
GROUPS = TagConfiguration.from_api(
    {"TagRules": [REGION, SEGMENT, MANAGER], "TagRuleConfigurations": [["region", "segment"], ["manager"]]}
)


@pytest.mark.parametrize(
    ("rules", "tags", "unmet"),
    [
        # Without TagRuleConfigurations every rule must be met.
        (ALL_RULES, {"region": "EMEA", "segment": "SMB"}, ()),
        (ALL_RULES, {"region": "EMEA"}, (("segment",),)),
        (ALL_RULES, {}, (("region", "segment"),)),
        # With them, one whole group is enough; the answer lists what each group lacks.
        (GROUPS, {"region": "EMEA", "segment": "SMB"}, ()),
        (GROUPS, {"manager": "Chen Wei"}, ()),
        (GROUPS, {"region": "EMEA"}, (("segment",), ("manager",))),
        (GROUPS, {"segment": "SMB", "team": "x"}, (("region",), ("manager",))),
        # An empty tag or one of delimiters only carries no value: QuickSight shows no rows.
        (ALL_RULES, {"region": "", "segment": "SMB"}, (("region",),)),
        (ALL_RULES, {"region": "EMEA", "segment": " , "}, (("segment",),)),
        # The match-all value counts as a value.
        (ALL_RULES, {"region": "*", "segment": "SMB"}, ()),
    ],
)
def test_who_sees_rows(rules, tags, unmet):
    assert rules.unmet(tags) == unmet


def test_disabled_rules_need_no_tag_and_filter_nothing():
    disabled = TagConfiguration.from_api({"Status": "DISABLED", "TagRules": [REGION]})

    assert disabled.unmet({}) == () and disabled.row_filter({}) is None


def test_a_group_naming_a_key_without_a_rule_cannot_be_met():
    rules = TagConfiguration.from_api({"TagRules": [REGION], "TagRuleConfigurations": [["region", "ghost"]]})

    assert rules.unmet({"region": "EMEA", "ghost": "x"}) == (("ghost",),)


def test_rows_are_those_of_any_group_met():
    assert GROUPS.row_filter({"region": "EMEA,APAC", "segment": "SMB", "manager": "Chen Wei"}) == [
        [("region", ("EMEA", "APAC")), ("segment", ("SMB",))],
        [("account_manager", ("Chen Wei",))],
    ]
    # A group not wholly met adds no rows; none met: no rows at all.
    assert GROUPS.row_filter({"region": "EMEA", "manager": "Chen Wei"}) == [[("account_manager", ("Chen Wei",))]]
    assert GROUPS.row_filter({"region": "EMEA"}) == []


def test_match_all_drops_the_condition_on_its_column():
    assert ALL_RULES.row_filter({"region": "*", "segment": "SMB"}) == [[("segment", ("SMB",))]]
    only_region = TagConfiguration.from_api({"TagRules": [REGION]})
    assert only_region.row_filter({"region": "*"}) is None


def test_the_api_shape_round_trips():
    raw = {"Status": "ENABLED", "TagRules": [REGION, SEGMENT, MANAGER], "TagRuleConfigurations": [["manager"]]}

    assert TagConfiguration.from_api(raw).to_api() == raw
