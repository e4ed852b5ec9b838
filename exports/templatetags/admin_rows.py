"""{% quick_result_list cl %}: Django's result_list with rows built once per column (exports/admin_rows.py)."""

from __future__ import annotations

from django import template
from django.contrib.admin.templatetags.base import InclusionAdminNode

from exports.admin_rows import quick_result_list

register = template.Library()


@register.tag(name="quick_result_list")
def quick_result_list_tag(parser, token):
    return InclusionAdminNode(
        "quick_result_list",
        parser,
        token,
        func=quick_result_list,
        template_name="change_list_quick_results.html",
        takes_context=False,
    )
