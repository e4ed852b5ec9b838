"""The portal's URLs plus the bench's baseline: Django's stock changelist of the same Export rows.

Used only by bench.list_pages (ROOT_URLCONF through bench.list_pages_settings). The stock admin is
a plain ModelAdmin showing the same columns and filters as exports.admin_history.ExportAdmin, with
Django's defaults for everything else: full counts (twice), 100 rows a page, the model's ordering.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import path

from exports.admin_history import ExportAdmin
from exports.models import Export
from portal.urls import urlpatterns as portal_urlpatterns

stock_site = admin.AdminSite(name="stock_admin")


class StockExportAdmin(admin.ModelAdmin):
    list_display = ExportAdmin.list_display
    list_filter = ExportAdmin.list_filter


stock_site.register(Export, StockExportAdmin)

urlpatterns = [path("stock-admin/", stock_site.urls), *portal_urlpatterns]
