"""URL patterns of the signals pages: win/loss (signals/urls.py concatenates them)."""

from django.urls import URLPattern, path

from signals.views import winloss

urlpatterns: list[URLPattern] = [
    path("winloss/", winloss.winloss, name="winloss"),
    path("winloss/product-gaps/", winloss.product_gap_export, name="winloss_product_gaps"),
]
