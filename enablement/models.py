"""Enablement: onboarding programmes and their steps, courses with lessons and quizzes, certifications, learning
assignments, weekly adoption snapshots, roll-outs, and 1:1s between a manager and a report.

Private to enablement (other apps use enablement.selectors and enablement.services). docs/enablement.md
describes every rule."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from enablement.engine.programmes import milestone_text
from salesops.org.models import Region, Team


class TargetRole(models.TextChoices):
    """Whom a programme, an assignment or a roll-out is for, by role ("" = anyone)."""

    ANY = "", "Anyone"
    REP = "rep", "Reps"
    MANAGER = "manager", "Managers"
    FINANCE = "finance", "Finance"
    SALES_OPS = "sales_ops", "Sales ops"


# ------------------------------------------------------------------------------------------ learning content
class Course(models.Model):
    """Lessons in order, optionally ending in a quiz; written by sales ops in the app. Only published courses are
    shown to learners."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        ARCHIVED = "archived", "Archived"

    title = models.CharField(max_length=160, unique=True)
    summary = models.TextField(blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class Lesson(models.Model):
    """One page of a course: Markdown text (raw HTML is escaped), an optional link and an optional file."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="lessons")
    position = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=160)
    body = models.TextField(blank=True, default="", help_text="Markdown.")
    link_url = models.URLField(max_length=500, blank=True, default="")
    file = models.FileField(upload_to="enablement/lessons/%Y/%m/", blank=True, default="")
    file_name = models.CharField(max_length=200, blank=True, default="", help_text="The uploaded file's own name.")

    class Meta:
        ordering = ["course", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["course", "position"], name="lesson_unique_position")]

    def __str__(self) -> str:
        return self.title


class LessonRead(models.Model):
    """A learner opened a lesson to its end (marked read)."""

    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="reads")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["lesson", "person"], name="lesson_read_once")]

    def __str__(self) -> str:
        return f"{self.person_id} read {self.lesson_id}"


class Quiz(models.Model):
    """A course's quiz: passing it (score >= pass mark) completes the course. `max_attempts` null: unlimited."""

    course = models.OneToOneField(Course, on_delete=models.CASCADE, related_name="quiz")
    pass_mark = models.DecimalField(max_digits=5, decimal_places=2, default=80, help_text="Percent of questions.")
    max_attempts = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(pass_mark__gt=0) & Q(pass_mark__lte=100), name="quiz_pass_mark_0_100"),
            models.CheckConstraint(
                condition=Q(max_attempts__isnull=True) | Q(max_attempts__gte=1), name="quiz_attempts_at_least_one"
            ),
        ]

    def __str__(self) -> str:
        return f"Quiz of {self.course_id}"


class Question(models.Model):
    """A single-choice question: `choices` is a list of strings, `correct` the index of the right one."""

    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField()
    text = models.CharField(max_length=500)
    choices = models.JSONField(default=list)
    correct = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["quiz", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["quiz", "position"], name="question_unique_position")]

    def __str__(self) -> str:
        return self.text


class QuizAttempt(models.Model):
    """One submitted attempt: the answers given, the score (percent of questions right) and whether it passed."""

    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="attempts")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveSmallIntegerField(help_text="1 for the first attempt.")
    answers = models.JSONField(default=dict, help_text="Question id (string) -> chosen index.")
    score = models.DecimalField(max_digits=5, decimal_places=2)
    passed = models.BooleanField()
    submitted_at = models.DateTimeField(default=timezone.now)
    token = models.CharField(
        max_length=64, blank=True, default="",
        help_text="The submit's one-time token: the same token again answers this attempt, records no other.",
    )  # fmt: skip

    class Meta:
        ordering = ["quiz", "person", "number"]
        constraints = [
            models.UniqueConstraint(fields=["quiz", "person", "number"], name="attempt_unique_number"),
            models.UniqueConstraint(
                fields=["quiz", "person", "token"], condition=~models.Q(token=""), name="attempt_unique_token"
            ),
        ]
        indexes = [models.Index(fields=["person", "quiz"], name="attempt_person_idx")]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.person_id} on quiz {self.quiz_id}"


class CourseCompletion(models.Model):
    """A learner completed a course: every lesson read and, when it has a quiz, a passing attempt."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="completions")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    completed_at = models.DateTimeField(default=timezone.now)
    attempt = models.ForeignKey(QuizAttempt, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["course", "person"], name="course_completed_once")]

    def __str__(self) -> str:
        return f"{self.person_id} completed {self.course_id}"


class Certification(models.Model):
    """Earned by completing its course (passing the quiz); valid `valid_days` from the day it is awarded."""

    name = models.CharField(max_length=160, unique=True)
    description = models.TextField(blank=True, default="")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="certifications")
    valid_days = models.PositiveIntegerField(default=365)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [models.CheckConstraint(condition=Q(valid_days__gte=1), name="certification_valid_days")]

    def __str__(self) -> str:
        return self.name


class CertificationAward(models.Model):
    """A person holds a certification from `awarded_on` until `expires_on` (the last valid day is the day before).
    A renewal is a new award; the latest decides whether the person is certified."""

    certification = models.ForeignKey(Certification, on_delete=models.CASCADE, related_name="awards")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    awarded_on = models.DateField()
    expires_on = models.DateField()
    attempt = models.ForeignKey(QuizAttempt, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    expiry_handled = models.BooleanField(default=False, help_text="Its expiry has reopened the programme steps.")

    class Meta:
        ordering = ["-awarded_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(expires_on__gt=models.F("awarded_on")), name="award_expires_after")
        ]
        indexes = [models.Index(fields=["person", "certification", "expires_on"], name="award_person_idx")]

    def __str__(self) -> str:
        return f"{self.certification_id} to {self.person_id} until {self.expires_on}"


class LearningAssignment(models.Model):
    """A course (or a certification's course) assigned to a group with a due date. The group: a team, a region
    and/or a role (all that are set must match), or one person."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="assignments")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    region = models.ForeignKey(Region, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    role = models.CharField(max_length=10, choices=TargetRole.choices, blank=True, default="")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True,
                               related_name="+")  # fmt: skip
    due_on = models.DateField()
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assigned_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_on", "id"]

    def __str__(self) -> str:
        return f"course {self.course_id} due {self.due_on}"


# ---------------------------------------------------------------------------------------------- programmes
class Programme(models.Model):
    """An onboarding programme: steps due a number of days after the start date. Assigned automatically to people
    who start in the role, team and region it names (all that are set must match) while it is active."""

    name = models.CharField(max_length=160, unique=True)
    description = models.TextField(blank=True, default="")
    is_active = models.BooleanField(default=True)
    for_role = models.CharField(max_length=10, choices=TargetRole.choices, blank=True, default="")
    for_team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    for_region = models.ForeignKey(Region, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    auto_assign = models.BooleanField(default=True, help_text="Enrol matching people when they start.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class StepKind(models.TextChoices):
    TASK = "task", "Task"
    COURSE = "course", "Course"
    CERTIFICATION = "certification", "Certification"
    MILESTONE = "milestone", "CRM milestone"


class Milestone(models.TextChoices):
    """What a CRM milestone counts, from the start date on (the person's own records)."""

    DEALS_CREATED = "deals_created", "Opportunities created"
    DEALS_WON = "deals_won", "Deals won"
    BOOKED = "booked", "Amount booked"
    ACTIVITIES = "activities", "Activities logged"


class ProgrammeStep(models.Model):
    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=160)
    kind = models.CharField(max_length=14, choices=StepKind.choices)
    due_days = models.PositiveSmallIntegerField(help_text="Due this many days after the start date.")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    certification = models.ForeignKey(Certification, on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="+")  # fmt: skip
    milestone = models.CharField(max_length=14, choices=Milestone.choices, blank=True, default="")
    target = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True,
                                 help_text="A milestone's count or amount.")  # fmt: skip

    class Meta:
        ordering = ["programme", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "position"], name="step_unique_position"),
            models.CheckConstraint(
                condition=(Q(kind="task") & Q(course__isnull=True) & Q(certification__isnull=True) & Q(milestone=""))
                | (Q(kind="course") & Q(course__isnull=False) & Q(certification__isnull=True) & Q(milestone=""))
                | (Q(kind="certification") & Q(certification__isnull=False) & Q(course__isnull=True) & Q(milestone=""))
                | (
                    Q(kind="milestone")
                    & ~Q(milestone="")
                    & Q(target__gt=0)
                    & Q(course__isnull=True)
                    & Q(certification__isnull=True)
                ),
                name="step_kind_fields",
                violation_error_message="A course step names a course, a certification step a certification, and a "
                "milestone step what it counts and a target above zero; a task names none of them.",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def target_text(self) -> str:
        """A milestone's target for people: an amount in money, a count whole ("" without one)."""
        return "" if self.target is None else milestone_text(self.milestone, self.target)


class Enrolment(models.Model):
    """A person on a programme, from `start_date` (their start date, or the day they were enrolled by hand when
    they have none). Each step's due date is `start_date + due_days`."""

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="enrolments")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    start_date = models.DateField()
    enrolled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+", help_text="Empty: enrolled automatically.")  # fmt: skip
    enrolled_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True, help_text="Set when every step is done.")

    class Meta:
        ordering = ["-start_date", "id"]
        constraints = [models.UniqueConstraint(fields=["programme", "person"], name="enrolment_once")]
        indexes = [models.Index(fields=["person"], name="enrolment_person_idx")]

    def __str__(self) -> str:
        return f"{self.person_id} on {self.programme_id}"


class StepProgress(models.Model):
    """One step of one enrolment: due on `due_on`; done when `completed_at` is set (by the person or their manager
    for a task, automatically for a course, a certification or a milestone). A certification that expires clears
    `completed_at` and sets `reopened_at`."""

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="steps")
    step = models.ForeignKey(ProgrammeStep, on_delete=models.CASCADE, related_name="progress")
    due_on = models.DateField()
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+", help_text="Empty: completed automatically.")  # fmt: skip
    reopened_at = models.DateTimeField(null=True, blank=True)
    value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True,
                                help_text="A milestone's count or amount at the last evaluation.")  # fmt: skip

    class Meta:
        ordering = ["enrolment", "due_on", "step__position"]
        constraints = [models.UniqueConstraint(fields=["enrolment", "step"], name="progress_once_per_step")]
        indexes = [models.Index(fields=["completed_at", "due_on"], name="progress_open_idx")]

    def __str__(self) -> str:
        return f"step {self.step_id} of enrolment {self.enrolment_id}"


# ------------------------------------------------------------------------------------------------- adoption
class AdoptionSnapshot(models.Model):
    """A person's CRM adoption and hygiene in one week (Monday `week`): each part as a share 0–1 (null: not
    applicable, e.g. no open deals), the figures behind it, and the score. The current week is rewritten as it
    goes; past weeks are kept for the trend."""

    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    week = models.DateField(help_text="The Monday the week starts on.")
    parts = models.JSONField(default=dict, help_text="Part key -> share as a string, or null.")
    figures = models.JSONField(default=dict, help_text="The counts behind the parts.")
    score = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["week", "person_id"]
        constraints = [models.UniqueConstraint(fields=["person", "week"], name="adoption_one_per_week")]
        indexes = [models.Index(fields=["week"], name="adoption_week_idx")]

    def __str__(self) -> str:
        return f"{self.person_id} week of {self.week}"


class Rollout(models.Model):
    """A tool or process being rolled out to a group: adopted when at least `target_share` of the group reach
    `threshold` on the scorecard part `metric` in a week."""

    name = models.CharField(max_length=160, unique=True)
    description = models.TextField(blank=True, default="")
    team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    region = models.ForeignKey(Region, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    role = models.CharField(max_length=10, choices=TargetRole.choices, blank=True, default="")
    go_live = models.DateField()
    metric = models.CharField(max_length=30, help_text="A scorecard part's key (or 'score').")
    threshold = models.DecimalField(
        max_digits=5, decimal_places=4, default=1, help_text="A person has adopted when their part reaches this (0–1)."
    )
    target_share = models.DecimalField(
        max_digits=5, decimal_places=4, default="0.8", help_text="Adopted when this share of the group has."
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-go_live", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(threshold__gte=0) & Q(threshold__lte=1), name="rollout_threshold_0_1"),
            models.CheckConstraint(condition=Q(target_share__gt=0) & Q(target_share__lte=1), name="rollout_target_0_1"),
        ]

    def __str__(self) -> str:
        return self.name


# ------------------------------------------------------------------------------------------------- coaching
class OneOnOne(models.Model):
    """A 1:1 between a manager and one of their reports. Its notes and action items are the two people's alone:
    nobody else reads them on any surface (sales ops and the manager's own manager included)."""

    manager = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    report = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    held_on = models.DateField()
    notes = models.TextField(blank=True, default="")
    agenda = models.JSONField(default=dict, blank=True, help_text="The agenda as it stood when the 1:1 was held.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-held_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(manager=models.F("report")), name="one_on_one_two_people"),
            models.UniqueConstraint(fields=["manager", "report", "held_on"], name="one_on_one_per_day"),
        ]
        indexes = [models.Index(fields=["manager", "report", "held_on"], name="one_on_one_pair_idx")]

    def __str__(self) -> str:
        return f"1:1 {self.manager_id}/{self.report_id} on {self.held_on}"


class ActionItem(models.Model):
    """An action agreed in a 1:1: shown in every later 1:1 of the pair until it is done."""

    one_on_one = models.ForeignKey(OneOnOne, on_delete=models.CASCADE, related_name="action_items")
    text = models.CharField(max_length=300)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                              help_text="Who does it: the manager or the report.")  # fmt: skip
    due_on = models.DateField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_in = models.ForeignKey(OneOnOne, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                help_text="The 1:1 in which it was marked done.")  # fmt: skip
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.text


class RampPerson(models.Model):
    """Ramp to productivity, maintained (docs/enablement-ramp.md, "Freshness"): a tracked hire's credited
    bookings summed by month from their start month (RampMonth) and the close date of their first won deal, as of
    `start` (their start date when computed). No row, or a `start` that is no longer theirs: the ramp reads the
    deals live for them. A deal change deletes the rows of its people and queues their refresh; a nightly task
    refreshes every tracked hire."""

    person = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                  related_name="+")  # fmt: skip
    start = models.DateField()
    first_won = models.DateField(null=True, blank=True)
    refreshed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"ramp of {self.person_id} from {self.start}"


class RampMonth(models.Model):
    """One tracked hire's credited bookings (owner without revenue splits, or revenue split share) closed in a
    calendar month on or after their start month (months without bookings have no row)."""

    ramp = models.ForeignKey(RampPerson, on_delete=models.CASCADE, related_name="months")
    month = models.DateField(help_text="The month's first day.")
    bookings = models.DecimalField(max_digits=16, decimal_places=2)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ramp", "month"], name="ramp_month_unique")]

    def __str__(self) -> str:
        return f"{self.ramp_id} {self.month:%Y-%m}: {self.bookings}"
