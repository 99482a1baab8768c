"""URL patterns of the enablement pages: programmes (enablement/urls.py concatenates them)."""

from django.urls import URLPattern, path

from enablement.views import programmes as views

urlpatterns: list[URLPattern] = [
    path("onboarding/", views.my_onboarding, name="my_onboarding"),
    path("onboarding/team/", views.team_onboarding, name="team_onboarding"),
    path("onboarding/people/<int:pk>/", views.person_onboarding, name="person_onboarding"),
    path("onboarding/steps/<int:pk>/toggle/", views.step_toggle, name="step_toggle"),
    path("programmes/", views.programme_list, name="programme_list"),
    path("programmes/<int:pk>/", views.programme_detail, name="programme_detail"),
    path("programmes/<int:pk>/steps/", views.step_add, name="programme_step_add"),
    path("programmes/<int:pk>/enrol/", views.enrol, name="programme_enrol"),
    path("programmes/steps/<int:pk>/delete/", views.step_delete, name="programme_step_delete"),
    path("programmes/enrolments/<int:pk>/delete/", views.enrolment_delete, name="enrolment_delete"),
]
