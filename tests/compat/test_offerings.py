"""The published waldur-api-client manages offerings and parses every answer with its
models."""

from waldur_api_client.api.customers import customers_create
from waldur_api_client.api.marketplace_categories import marketplace_categories_create
from waldur_api_client.api.marketplace_provider_offerings import (
    marketplace_provider_offerings_activate,
    marketplace_provider_offerings_add_endpoint,
    marketplace_provider_offerings_count,
    marketplace_provider_offerings_create,
    marketplace_provider_offerings_list,
    marketplace_provider_offerings_pause,
    marketplace_provider_offerings_retrieve,
    marketplace_provider_offerings_update_overview,
)
from waldur_api_client.api.marketplace_service_providers import (
    marketplace_service_providers_create,
)
from waldur_api_client.models import (
    BaseProviderPlanRequest,
    BillingTypeEnum,
    BillingUnit,
    CustomerRequest,
    LimitPeriodEnum,
    MarketplaceCategoryRequest,
    NestedEndpointRequest,
    OfferingComponentRequest,
    OfferingCreateRequest,
    OfferingOverviewUpdateRequest,
    OfferingPauseRequest,
    OfferingState,
    ServiceProviderRequest,
)


def make_provider(admin, unique):
    customer = customers_create.sync(client=admin, body=CustomerRequest(name=f"Provider {unique}"))
    marketplace_service_providers_create.sync(
        client=admin, body=ServiceProviderRequest(customer=customer.url)
    )
    category = marketplace_categories_create.sync(
        client=admin, body=MarketplaceCategoryRequest(title=f"HPC {unique}")
    )
    return customer, category


def test_an_offering_is_created_activated_listed_and_retrieved_through_the_client(admin, unique):
    customer, category = make_provider(admin, unique)

    offering = marketplace_provider_offerings_create.sync(
        client=admin,
        body=OfferingCreateRequest(
            name=f"Cluster {unique}",
            category=category.url,
            type_="Marketplace.Slurm",
            customer=customer.url,
            description="A SLURM cluster",
            components=[
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
            plans=[BaseProviderPlanRequest(name="Default", unit=BillingUnit.MONTH)],
        ),
    )
    assert offering.state == OfferingState.DRAFT
    assert [c.type_ for c in offering.components] == ["cpu", "storage"]
    assert offering.components[1].limit_period == LimitPeriodEnum.TOTAL
    assert offering.plans[0].unit == BillingUnit.MONTH

    activated = marketplace_provider_offerings_activate.sync(client=admin, uuid=offering.uuid)
    assert activated.state == "Active"

    listed = marketplace_provider_offerings_list.sync(client=admin, customer_uuid=customer.uuid)
    assert [o.uuid for o in listed] == [offering.uuid]
    assert listed[0].state == OfferingState.ACTIVE
    assert marketplace_provider_offerings_count.sync(client=admin, customer_uuid=customer.uuid) == 1
    assert marketplace_provider_offerings_list.sync(
        client=admin, customer_uuid=customer.uuid, state=[OfferingState.DRAFT]
    ) == []

    fetched = marketplace_provider_offerings_retrieve.sync(client=admin, uuid=offering.uuid)
    assert fetched.uuid == offering.uuid
    assert fetched.description == "A SLURM cluster"
    assert fetched.category_uuid == category.uuid


def test_offering_edits_through_the_client_are_visible_in_the_next_read(admin, unique):
    customer, category = make_provider(admin, unique)
    offering = marketplace_provider_offerings_create.sync(
        client=admin,
        body=OfferingCreateRequest(
            name=f"Storage {unique}",
            category=category.url,
            type_="Marketplace.Basic",
            customer=customer.url,
            plans=[BaseProviderPlanRequest(name="Default")],
        ),
    )

    updated = marketplace_provider_offerings_update_overview.sync_detailed(
        client=admin,
        uuid=offering.uuid,
        body=OfferingOverviewUpdateRequest(name=f"Object storage {unique}", description="S3"),
    )
    assert updated.status_code == 200
    endpoint = marketplace_provider_offerings_add_endpoint.sync(
        client=admin,
        uuid=offering.uuid,
        body=NestedEndpointRequest(name="Console", url="https://console.example.org"),
    )
    marketplace_provider_offerings_activate.sync(client=admin, uuid=offering.uuid)
    paused = marketplace_provider_offerings_pause.sync(
        client=admin, uuid=offering.uuid, body=OfferingPauseRequest(paused_reason="maintenance")
    )
    assert paused.state == "Paused"

    fetched = marketplace_provider_offerings_retrieve.sync(client=admin, uuid=offering.uuid)
    assert fetched.name == f"Object storage {unique}"
    assert fetched.description == "S3"
    assert [e.uuid for e in fetched.endpoints] == [endpoint.uuid]
    assert fetched.paused_reason == "maintenance"
    assert fetched.state == OfferingState.PAUSED


def test_plans_are_priced_and_the_offering_is_public_once_active(admin, unique):
    from waldur_api_client.api.marketplace_plans import (
        marketplace_plans_create,
        marketplace_plans_retrieve,
        marketplace_plans_update_prices,
    )
    from waldur_api_client.api.marketplace_public_offerings import (
        marketplace_public_offerings_list,
        marketplace_public_offerings_plans_list,
        marketplace_public_offerings_retrieve,
    )
    from waldur_api_client.models import PricesUpdateRequest, ProviderPlanDetailsRequest
    from waldur_api_client.models.prices_update_request_prices import PricesUpdateRequestPrices

    customer, category = make_provider(admin, unique)
    offering = marketplace_provider_offerings_create.sync(
        client=admin,
        body=OfferingCreateRequest(
            name=f"GPU {unique}",
            category=category.url,
            type_="Marketplace.Slurm",
            customer=customer.url,
            components=[
                OfferingComponentRequest(
                    billing_type=BillingTypeEnum.USAGE, type_="gpu", name="GPU hours"
                )
            ],
        ),
    )
    plan = marketplace_plans_create.sync(
        client=admin,
        body=ProviderPlanDetailsRequest(
            name="Standard", offering=offering.url, unit=BillingUnit.MONTH, unit_price="10"
        ),
    )
    prices = PricesUpdateRequestPrices()
    prices.additional_properties = {"gpu": "1.5"}
    updated = marketplace_plans_update_prices.sync_detailed(
        client=admin, uuid=plan.uuid, body=PricesUpdateRequest(prices=prices)
    )
    assert updated.status_code == 200
    fetched_plan = marketplace_plans_retrieve.sync(client=admin, uuid=plan.uuid)
    assert fetched_plan.prices.additional_properties == {"gpu": 1.5}
    assert fetched_plan.unit_price == "10.0000000000"

    assert marketplace_public_offerings_list.sync(client=admin, customer_uuid=customer.uuid) == []
    marketplace_provider_offerings_activate.sync(client=admin, uuid=offering.uuid)

    public = marketplace_public_offerings_list.sync(client=admin, customer_uuid=customer.uuid)
    assert [o.uuid for o in public] == [offering.uuid]
    detail = marketplace_public_offerings_retrieve.sync(client=admin, uuid=offering.uuid)
    assert [p.uuid for p in detail.plans] == [plan.uuid]
    assert "/api/marketplace-public-offerings/" in detail.plans[0].url
    plans = marketplace_public_offerings_plans_list.sync(client=admin, uuid=offering.uuid)
    assert [p.name for p in plans] == ["Standard"]
