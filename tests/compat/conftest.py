"""Fixtures for the compatibility tests: clients of the running ledger.

`tests/run` starts `ledger serve` on a fresh database and passes its address and the admin
token in LEDGER_URL and LEDGER_TOKEN. With LEDGER_BIN and LEDGER_DATABASE_URL set as well,
`login` issues tokens for ordinary users through `ledger token create`.
"""

import datetime
import enum
import os
import subprocess
import typing
import uuid
from uuid import UUID

import attrs
import pytest
import waldur_api_client.models as models
from dateutil.parser import isoparse
from waldur_api_client import AuthenticatedClient
from waldur_api_client.types import File, Unset


@pytest.fixture(scope="session")
def base_url():
    return os.environ["LEDGER_URL"]


@pytest.fixture(scope="session")
def admin(base_url):
    # The client raises UnexpectedStatus for any status it does not document.
    return AuthenticatedClient(base_url=base_url, token=os.environ["LEDGER_TOKEN"])


@pytest.fixture(scope="session")
def login(base_url):
    """Returns `login(username, staff=False)`: a client authenticated as that user, created
    first if it does not exist."""
    binary = os.environ.get("LEDGER_BIN")
    database_url = os.environ.get("LEDGER_DATABASE_URL")
    if not binary or not database_url:
        pytest.skip("LEDGER_BIN and LEDGER_DATABASE_URL are needed to issue user tokens")

    def login_as(username, staff=False):
        done = subprocess.run(
            [binary, "token", "create", "--username", username] + (["--staff"] if staff else []),
            env={**os.environ, "DATABASE_URL": database_url},
            capture_output=True,
            text=True,
            check=True,
        )
        token = done.stdout.strip().splitlines()[-1]
        return AuthenticatedClient(base_url=base_url, token=token)

    return login_as


@pytest.fixture
def unique():
    """A short unique suffix so that tests sharing one ledger do not collide."""
    return uuid.uuid4().hex[:8]


def strictly(model, data):
    """Parses `data` with the client's `model.from_dict` and also checks every key against the
    type the model declares for it: the generated parsers cast most values without looking, so
    a null where the client wants a string, or a number where it wants a string, would
    otherwise pass unnoticed and break the client's callers later."""
    problems = []
    _check_model(model, data, model.__name__, problems)
    assert not problems, "\n".join(problems)
    return model.from_dict(data)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# Keys where Waldur itself answers differently from the type its schema declares, and the
# client's parsers pass the value through unchanged (see the running-Waldur samples in the
# reference, §8): image fields of an object without an image and an offering's unset `scope`
# are null; `new_cost_estimate` (the order's cost, like `old_cost_estimate`) and a plan's
# `minimal_price` are method fields that render as JSON numbers. A remote synchronisation's
# `remote_organization_uuid` and its mappings' `remote_category` are plain Django UUID fields,
# which DRF renders dashed, unlike the hex of Waldur's own object uuids.
AS_WALDUR_ANSWERS = {
    "offering_image": lambda v: v is None,
    "offering_thumbnail": lambda v: v is None,
    "category_icon": lambda v: v is None,
    "customer_image": lambda v: v is None,
    "scope": lambda v: v is None,
    "new_cost_estimate": _is_number,
    "minimal_price": _is_number,
    "remote_organization_uuid": lambda v: _is_dashed_uuid(v),
    "remote_category": lambda v: _is_dashed_uuid(v),
}


def _wire_name(field):
    return field.name[:-1] if field.name.endswith("_") else field.name


def _check_model(model, data, path, problems):
    if not isinstance(data, dict):
        problems.append(f"{path}: expected an object, got {data!r}")
        return
    for field in attrs.fields(model):
        if field.name == "additional_properties":
            continue
        key = _wire_name(field)
        if key not in data:
            if not _allows(field.type, Unset):
                problems.append(f"{path}.{key}: required by the client but missing")
            continue
        if key in AS_WALDUR_ANSWERS and AS_WALDUR_ANSWERS[key](data[key]):
            continue
        _check_value(field.type, data[key], f"{path}.{key}", problems)


def _allows(tp, cls):
    return tp is cls or cls in typing.get_args(tp)


def _resolve(tp):
    if isinstance(tp, typing.ForwardRef):
        return getattr(models, tp.__forward_arg__)
    if isinstance(tp, str):
        return getattr(models, tp)
    return tp


def _check_value(tp, value, path, problems):
    tp = _resolve(tp)
    origin = typing.get_origin(tp)
    if tp is typing.Any or tp is File:
        return
    if origin is typing.Union:
        options = [a for a in typing.get_args(tp) if a is not Unset]
        if value is None:
            if type(None) not in options:
                problems.append(f"{path}: null where the client wants {tp}")
            return
        attempts = []
        for option in options:
            if option is type(None):
                continue
            found = []
            _check_value(option, value, path, found)
            if not found:
                return
            attempts.extend(found)
        problems.extend(attempts or [f"{path}: {value!r} matches none of {tp}"])
        return
    if value is None:
        problems.append(f"{path}: null where the client wants {tp}")
        return
    if origin is list:
        if not isinstance(value, list):
            problems.append(f"{path}: expected a list, got {value!r}")
            return
        (item,) = typing.get_args(tp) or (typing.Any,)
        for index, element in enumerate(value):
            _check_value(item, element, f"{path}[{index}]", problems)
        return
    if origin is dict:
        if not isinstance(value, dict):
            problems.append(f"{path}: expected an object, got {value!r}")
            return
        args = typing.get_args(tp)
        for key, element in value.items():
            _check_value(args[1] if args else typing.Any, element, f"{path}.{key}", problems)
        return
    if attrs.has(tp):
        _check_model(tp, value, path, problems)
        return
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        if value not in {member.value for member in tp}:
            problems.append(f"{path}: {value!r} is not one of {tp.__name__}")
        return
    checks = {
        str: lambda v: isinstance(v, str),
        bool: lambda v: isinstance(v, bool),
        int: lambda v: isinstance(v, int) and not isinstance(v, bool),
        float: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        UUID: _is_hex_uuid,
        datetime.datetime: lambda v: isinstance(v, str) and _parses(isoparse, v),
        datetime.date: lambda v: isinstance(v, str)
        and _parses(datetime.date.fromisoformat, v),
    }
    check = checks.get(tp)
    if check is None:
        problems.append(f"{path}: no check for {tp}")
    elif not check(value):
        problems.append(f"{path}: {value!r} is not a {getattr(tp, '__name__', tp)}")


def _parses(parse, value):
    try:
        parse(value)
    except ValueError:
        return False
    return True


def _is_dashed_uuid(value):
    return isinstance(value, str) and len(value) == 36 and _parses(UUID, value)


def _is_hex_uuid(value):
    return isinstance(value, str) and len(value) == 32 and _parses(UUID, value)


class Market:
    """A provider with an active Marketplace.Slurm and Marketplace.Basic offering, and a
    consumer organization with one project, all made through the client."""

    def __init__(self, admin, unique):
        from waldur_api_client.api.customers import customers_create
        from waldur_api_client.api.marketplace_categories import marketplace_categories_create
        from waldur_api_client.api.marketplace_plans import marketplace_plans_update_prices
        from waldur_api_client.api.marketplace_provider_offerings import (
            marketplace_provider_offerings_activate,
            marketplace_provider_offerings_create,
        )
        from waldur_api_client.api.marketplace_public_offerings import (
            marketplace_public_offerings_retrieve,
        )
        from waldur_api_client.api.marketplace_service_providers import (
            marketplace_service_providers_create,
        )
        from waldur_api_client.api.projects import projects_create
        from waldur_api_client.models import (
            BaseProviderPlanRequest,
            BillingTypeEnum,
            BillingUnit,
            CustomerRequest,
            LimitPeriodEnum,
            MarketplaceCategoryRequest,
            OfferingComponentRequest,
            OfferingCreateRequest,
            PricesUpdateRequest,
            ProjectRequest,
            ServiceProviderRequest,
        )
        from waldur_api_client.models.prices_update_request_prices import (
            PricesUpdateRequestPrices,
        )

        self.unique = unique
        self.provider = customers_create.sync(
            client=admin, body=CustomerRequest(name=f"Provider {unique}")
        )
        self.service_provider = marketplace_service_providers_create.sync(
            client=admin, body=ServiceProviderRequest(customer=self.provider.url)
        )
        self.category = marketplace_categories_create.sync(
            client=admin, body=MarketplaceCategoryRequest(title=f"HPC {unique}")
        )
        self.consumer = customers_create.sync(
            client=admin, body=CustomerRequest(name=f"Consumer {unique}")
        )
        self.project = projects_create.sync(
            client=admin,
            body=ProjectRequest(name=f"Climate {unique}", customer=self.consumer.url),
        )

        def offering(name, type_, components, unit_price, prices):
            created = marketplace_provider_offerings_create.sync(
                client=admin,
                body=OfferingCreateRequest(
                    name=f"{name} {unique}",
                    category=self.category.url,
                    type_=type_,
                    customer=self.provider.url,
                    components=components,
                    plans=[
                        BaseProviderPlanRequest(
                            name="Default", unit=BillingUnit.MONTH, unit_price=unit_price
                        )
                    ],
                ),
            )
            if prices:
                body = PricesUpdateRequestPrices()
                body.additional_properties = prices
                marketplace_plans_update_prices.sync_detailed(
                    client=admin,
                    uuid=created.plans[0].uuid,
                    body=PricesUpdateRequest(prices=body),
                )
            marketplace_provider_offerings_activate.sync(client=admin, uuid=created.uuid)
            return marketplace_public_offerings_retrieve.sync(client=admin, uuid=created.uuid)

        self.slurm = offering(
            "Cluster",
            "Marketplace.Slurm",
            [
                OfferingComponentRequest(
                    billing_type=BillingTypeEnum.USAGE,
                    type_="cpu",
                    name="CPU",
                    measured_unit="hours",
                ),
                OfferingComponentRequest(
                    billing_type=BillingTypeEnum.LIMIT,
                    type_="storage",
                    name="Storage",
                    measured_unit="GB",
                    limit_period=LimitPeriodEnum.TOTAL,
                ),
            ],
            "10",
            {"storage": "2"},
        )
        self.basic = offering("Consulting", "Marketplace.Basic", [], "5", None)


@pytest.fixture
def market(admin, unique):
    return Market(admin, unique)
