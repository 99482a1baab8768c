from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory

from pipeline.models import Account, Contact, Deal, Product, Stage
from pipeline.normalize import account_name_key
from pipeline.services import default_pipeline
from salesops.org.models import Region, Team, User


class RegionFactory(factory.django.DjangoModelFactory[Region]):
    class Meta:
        model = Region
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Region {n}")


class TeamFactory(factory.django.DjangoModelFactory[Team]):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    region = factory.SubFactory(RegionFactory)


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"person{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    title = "Account Executive"
    is_rep = True
    start_date = dt.date(2024, 1, 15)
    password = factory.django.Password("pw")


class ManagerFactory(UserFactory):
    title = "Sales Manager"
    is_rep = False
    is_manager = True


# ------------------------------------------------------------------------------------------ pipeline
def default_stages() -> dict[str, Stage]:
    """The default pipeline's stages by name (created on first use)."""
    pipeline = default_pipeline()
    return {stage.name: stage for stage in pipeline.stages.all()}


class AccountFactory(factory.django.DjangoModelFactory[Account]):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Company {n}")
    name_key = factory.LazyAttribute(lambda o: account_name_key(o.name))
    sector = "software"


class ContactFactory(factory.django.DjangoModelFactory[Contact]):
    class Meta:
        model = Contact

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    account = factory.SubFactory(AccountFactory)


class ProductFactory(factory.django.DjangoModelFactory[Product]):
    class Meta:
        model = Product
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Product {n}")
    list_price = Decimal("1000.00")


class DealFactory(factory.django.DjangoModelFactory[Deal]):
    """A deal in a stage of the default pipeline (Prospecting unless `stage` is given)."""

    class Meta:
        model = Deal

    name = factory.Sequence(lambda n: f"Deal {n}")
    account = factory.SubFactory(AccountFactory)
    owner = factory.SubFactory(UserFactory)
    stage = factory.LazyFunction(lambda: default_stages()["Prospecting"])
    pipeline = factory.LazyAttribute(lambda o: o.stage.pipeline)
    status = factory.LazyAttribute(lambda o: o.stage.status)
    amount = Decimal("10000.00")
    close_date = dt.date(2026, 12, 15)
    created_date = dt.date(2026, 9, 1)
