"""URL patterns of the signals pages: marketing (signals/urls.py concatenates them)."""

from django.urls import URLPattern, path

from signals.views import marketing as views

urlpatterns: list[URLPattern] = [
    path("campaigns/", views.campaign_list, name="campaign_list"),
    path("campaigns/import/", views.member_import, name="campaign_member_import"),
    path("campaigns/deals/", views.deal_search, name="campaign_deal_search"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign_detail"),
    path("campaigns/<int:pk>/delete/", views.campaign_delete, name="campaign_delete"),
    path("campaigns/<int:pk>/members/", views.member_add, name="campaign_member_add"),
    path("campaigns/<int:pk>/touches/", views.touch_add, name="campaign_touch_add"),
    path("campaigns/members/<int:pk>/remove/", views.member_remove, name="campaign_member_remove"),
    path("campaigns/members/<int:pk>/status/", views.member_respond, name="campaign_member_status"),
    path("campaigns/touches/<int:pk>/remove/", views.touch_remove, name="campaign_touch_remove"),
    path("attribution/", views.attribution, name="attribution"),
    path("attribution/export/", views.attribution_export, name="attribution_export"),
]
