"""Tag-based row-level security of one data set, as QuickSight evaluates it. No Django here.

The portal's pre-check (exports/rls.py) and quicksight_local's row filter (quicksight_local/data.py)
both read a data set's RowLevelPermissionTagConfiguration through this module, so "may this
identity see rows of this data set" has one answer.

QuickSight's semantics, as this module applies them:
- `Status: DISABLED`: the rules are not applied; every row, no tag needed.
- Without `TagRuleConfigurations` every TagRule must be met (AND over all rules).
- With them, the identity needs every key of at least one group (AND inside a group, OR between
  groups); its rows are those of any group it meets. A TagRule that no group names is not
  evaluated: the groups are the whole condition.
- A rule is met when the identity has a tag for its key with at least one value: no tag, an empty
  tag, or only delimiters (`,` with delimiter `,`) is no value, and QuickSight then returns no rows
  for the data set. That is why the portal blocks such an export instead of producing empty files.
- `MatchAllValue` (often `*`) lets every row through for that rule's column;
  `TagMultiValueDelimiter` splits one tag into several allowed values (`EMEA,APAC`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TagRule:
    tag_key: str
    column: str
    match_all_value: str | None = None
    multi_value_delimiter: str | None = None

    def values(self, tag_value: str | None) -> tuple[str, ...] | None:
        """The column values this tag allows; None for every value (the match-all value); () for none."""
        if tag_value is None:
            return ()
        if self.match_all_value is not None and tag_value == self.match_all_value:
            return None
        parts = tag_value.split(self.multi_value_delimiter) if self.multi_value_delimiter else [tag_value]
        return tuple(part.strip() for part in parts if part.strip())

    def is_met(self, tags: Mapping[str, str]) -> bool:
        return self.values(tags.get(self.tag_key)) != ()


@dataclass(frozen=True)
class TagConfiguration:
    """A data set's RowLevelPermissionTagConfiguration."""

    enabled: bool
    rules: tuple[TagRule, ...]
    groups: tuple[tuple[str, ...], ...] = ()  # TagRuleConfigurations: lists of tag keys

    @classmethod
    def from_api(cls, raw: Mapping[str, Any] | None) -> TagConfiguration | None:
        """From DescribeDataSet's shape (or the same shape stored); None when there is none.

        Raises KeyError/TypeError on a shape that is not AWS's, for the caller to report.
        """
        if not raw:
            return None
        rules = tuple(
            TagRule(r["TagKey"], r["ColumnName"], r.get("MatchAllValue"), r.get("TagMultiValueDelimiter"))
            for r in raw["TagRules"]
        )
        groups = tuple(tuple(str(key) for key in group) for group in raw.get("TagRuleConfigurations") or ())
        return cls(enabled=raw.get("Status", "ENABLED") != "DISABLED", rules=rules, groups=groups)

    def to_api(self) -> dict[str, Any]:
        rules = []
        for rule in self.rules:
            entry = {"TagKey": rule.tag_key, "ColumnName": rule.column}
            if rule.match_all_value is not None:
                entry["MatchAllValue"] = rule.match_all_value
            if rule.multi_value_delimiter is not None:
                entry["TagMultiValueDelimiter"] = rule.multi_value_delimiter
            rules.append(entry)
        body: dict[str, Any] = {"Status": "ENABLED" if self.enabled else "DISABLED", "TagRules": rules}
        if self.groups:
            body["TagRuleConfigurations"] = [list(group) for group in self.groups]
        return body

    @property
    def applies(self) -> bool:
        return self.enabled and bool(self.rules)

    @property
    def required_groups(self) -> tuple[tuple[str, ...], ...]:
        """The alternatives an identity must meet one of; () when the data set is not filtered."""
        if not self.applies:
            return ()
        if self.groups:
            return self.groups
        return (tuple(dict.fromkeys(rule.tag_key for rule in self.rules)),)

    def _rules_for(self, key: str) -> list[TagRule]:
        return [rule for rule in self.rules if rule.tag_key == key]

    def _key_met(self, key: str, tags: Mapping[str, str]) -> bool:
        # A key no rule defines cannot be met: QuickSight has no column to filter it by.
        rules = self._rules_for(key)
        return bool(rules) and all(rule.is_met(tags) for rule in rules)

    def unmet(self, tags: Mapping[str, str]) -> tuple[tuple[str, ...], ...]:
        """() when the identity sees rows; else, per group, the keys it lacks (the groups it fails)."""
        missing = []
        for group in self.required_groups:
            lacking = tuple(key for key in group if not self._key_met(key, tags))
            if not lacking:
                return ()
            missing.append(lacking)
        return tuple(missing)

    def row_filter(self, tags: Mapping[str, str]) -> list[list[tuple[str, tuple[str, ...]]]] | None:
        """Which rows the identity sees: None for all; else alternatives (ORed) of (column IN values) ANDed.

        An empty list means no rows. A match-all value adds no condition for its column.
        """
        if not self.applies:
            return None
        alternatives = []
        for group in self.required_groups:
            if any(not self._key_met(key, tags) for key in group):
                continue
            conditions = []
            for key in group:
                for rule in self._rules_for(key):
                    allowed = rule.values(tags.get(key))
                    if allowed is not None:
                        conditions.append((rule.column, allowed))
            if not conditions:
                return None  # this group sees every row: nothing narrower matters
            alternatives.append(conditions)
        return alternatives


def describe_groups(groups: Sequence[Sequence[str]]) -> str:
    """`region and team, or department`: the alternatives in words."""
    return ", or ".join(" and ".join(group) for group in groups)
