"""The history's admin changelists' rows, as Django's own markup, worked out once a page per column.

Django's items_for_result finds each cell's field, classes, empty text and link for every one of the
page's 175 cells, then the template renders each cell on its own: about 6.5 of the exports
changelist's 23 ms at 100,000 rows (BENCHMARKS.md, "List pages"). Here the column's rules are found
once, each row is one string, and the template writes rows. The markup is byte-for-byte Django's
(a test compares both on every changelist that uses it); anything not a plain model field (a method,
a property, a lookup across relations) goes through Django's own lookup_field for each cell, as there.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Callable

from django.contrib.admin.templatetags.admin_list import _coerce_field_name, result_list
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import (
    FieldIsAForeignKeyColumnName,
    _get_non_gfk_field,
    display_for_field,
    display_for_value,
    get_fields_from_path,
    lookup_field,
)
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured, ObjectDoesNotExist
from django.db import models
from django.db.models.constants import LOOKUP_SEP
from django.urls import NoReverseMatch
from django.utils.safestring import SafeString

from exports.markup import format_safe

NOWRAP_FIELDS = (models.DateField, models.TimeField, models.ForeignKey)


def quick_result_list(cl) -> dict:
    """Django's result_list context with `results` as whole rows (the page's headers stay Django's)."""
    if cl.formset:
        # The history's changelists are read-only; list_editable's forms in the cells are not written here.
        raise ImproperlyConfigured(f"{type(cl.model_admin).__name__}: quick_result_list has no list_editable")
    context, cells, first = _headers_only(cl), [], True
    for index, name in enumerate(cl.list_display):
        # As items_for_result: "first" lasts until a column is linked; that one is a <th>.
        link = _link_in_column(cl, name, first)
        cells.append(_column(cl, name, index, link=link, tag="th" if link and first else "td"))
        first = first and not link
    context["results"] = [SafeString("".join(cell(result) for cell in cells)) for result in cl.result_list]
    return context


def _headers_only(cl) -> dict:
    """result_list's context without its rows: they are built here."""
    rows, cl.result_list = cl.result_list, []
    try:
        return result_list(cl)
    finally:
        cl.result_list = rows


def _link_in_column(cl, name, first: bool) -> bool:
    if cl.list_display_links is None:
        return False
    if first and not cl.list_display_links:
        return True
    return name in cl.list_display_links


def _column(cl, name, index: int, *, link: bool, tag: str) -> Callable[[models.Model], SafeString]:
    """One column's cell for a row, as items_for_result writes it."""
    base_empty = cl.model_admin.get_empty_value_display()
    coerced = _coerce_field_name(name, index)
    try:
        field = _get_non_gfk_field(cl.lookup_opts, name) if isinstance(name, str) else None
    except (FieldDoesNotExist, FieldIsAForeignKeyColumnName):
        field = None
    if field is not None and not field.auto_created:
        classes = f"field-{coerced}" + (" nowrap" if isinstance(field, NOWRAP_FIELDS) else "")
        choices = dict(field.flatchoices) if getattr(field, "flatchoices", None) else None
        related = isinstance(field.remote_field, models.ManyToOneRel)

        def shown(result) -> tuple[object, str]:
            try:
                value = getattr(result, name)
            except ObjectDoesNotExist:
                return base_empty, classes
            if related:
                return (base_empty if value is None else value), classes
            if choices is not None:
                return choices.get(value, base_empty), classes
            return display_for_field(value, field, base_empty, avoid_link=link), classes

    else:

        def shown(result) -> tuple[object, str]:
            return _looked_up(cl, name, coerced, result, base_empty, link)

    def cell(result) -> SafeString:
        result_repr, classes = shown(result)
        if not link:
            return format_safe('<td class="{}">{}</td>', SafeString(classes), result_repr)
        try:
            url = cl.url_for_result(result)
        except NoReverseMatch:
            inner = result_repr
        else:
            url = add_preserved_filters({"preserved_filters": cl.preserved_filters, "opts": cl.opts}, url)
            opener = ""
            if cl.is_popup:
                opener_value = result.serializable_value(str(cl.to_field or cl.lookup_opts.pk.attname))
                opener = format_safe(' data-popup-opener="{}"', opener_value)
            inner = format_safe('<a href="{}"{}>{}</a>', url, opener, result_repr)
        return format_safe('<{0} class="{1}">{2}</{0}>', SafeString(tag), SafeString(classes), inner)

    return cell


def _looked_up(cl, name, coerced: str, result, base_empty, link: bool) -> tuple[object, str]:
    """items_for_result's way for a method, property or lookup: every step for each cell."""
    classes = [f"field-{coerced}"]
    try:
        field, attr, value = lookup_field(name, result, cl.model_admin)
    except ObjectDoesNotExist:
        return base_empty, classes[0]
    empty = getattr(attr, "empty_value_display", base_empty)
    if field is None and isinstance(name, str) and LOOKUP_SEP in name:
        with contextlib.suppress(FieldDoesNotExist):
            field = get_fields_from_path(cl.model, name)[-1]
    if field is None or field.auto_created:
        if name == "action_checkbox":
            classes = ["action-checkbox"]
        boolean = getattr(attr, "boolean", False)
        if isinstance(attr, property) and hasattr(attr, "fget"):
            boolean = getattr(attr.fget, "boolean", False)
        shown = display_for_value(value, empty, boolean)
        if isinstance(value, (datetime.date, datetime.time)):
            classes.append("nowrap")
        return shown, " ".join(classes)
    if isinstance(field.remote_field, models.ManyToOneRel):
        shown = empty if value is None else value
    else:
        shown = display_for_field(value, field, empty, avoid_link=link)
    if isinstance(field, NOWRAP_FIELDS):
        classes.append("nowrap")
    return shown, " ".join(classes)
