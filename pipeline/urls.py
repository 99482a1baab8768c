from django.urls import path

from pipeline import views

app_name = "pipeline"

urlpatterns = [
    path("deals/", views.deal_list, name="deal_list"),
    path("deals/new/", views.deal_create, name="deal_create"),
    path("deals/<int:pk>/", views.deal_detail, name="deal_detail"),
    path("deals/<int:pk>/field/<str:field>/", views.deal_field, name="deal_field"),
    path("deals/<int:pk>/move/", views.deal_move, name="deal_move"),
    path("deals/<int:pk>/cancel/", views.deal_cancel, name="deal_cancel"),
    path("deals/<int:pk>/category/", views.deal_category, name="deal_category"),
    path("deals/<int:pk>/splits/", views.deal_splits, name="deal_splits"),
    path("deals/<int:pk>/activities/", views.deal_activity_add, name="deal_activity_add"),
    path("activities/<int:pk>/done/", views.activity_done, name="activity_done"),
    path("board/", views.board, name="board"),
    path("accounts/", views.account_list, name="account_list"),
    path("accounts/new/", views.account_edit, name="account_create"),
    path("accounts/<int:pk>/", views.account_detail, name="account_detail"),
    path("accounts/<int:pk>/edit/", views.account_edit, name="account_edit"),
    path("leads/", views.lead_list, name="lead_list"),
    path("leads/new/", views.lead_add, name="lead_add"),
    path("leads/<int:pk>/", views.lead_detail, name="lead_detail"),
    path("leads/<int:pk>/answered/", views.lead_answered, name="lead_answered"),
    path("leads/<int:pk>/assign/", views.lead_assign, name="lead_assign"),
    path("leads/<int:pk>/activities/", views.lead_activity_add, name="lead_activity_add"),
    path("leads/<int:pk>/convert/", views.lead_convert, name="lead_convert"),
    path("setup/", views.setup, name="setup"),
    path("setup/<int:pipeline_pk>/stages/new/", views.stage_edit, name="stage_create"),
    path("setup/<int:pipeline_pk>/stages/<int:pk>/", views.stage_edit, name="stage_edit"),
    path("setup/lost-reasons/", views.lost_reason_save, name="lost_reason_create"),
    path("setup/lost-reasons/<int:pk>/", views.lost_reason_save, name="lost_reason_edit"),
    path("stages/<int:pk>/move/", views.stage_move, name="stage_move"),
    path("stages/<int:pk>/delete/", views.stage_delete, name="stage_delete"),
    path("quality/", views.data_quality, name="data_quality"),
    path("quality/merge/", views.merge, name="merge"),
]
