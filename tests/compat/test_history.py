"""The published waldur-api-client reads histories from the ledger: every `*_history_list`
and `*_history_at_retrieve` answer parses with its `VersionHistory` model, for provider
offerings, plans, resources on both sides, customers and users."""

import datetime
import json
from http import HTTPStatus

from conftest import strictly
from test_orders import order
from waldur_api_client.api.customers import (
    customers_history_at_retrieve,
    customers_history_list,
)
from waldur_api_client.api.marketplace_orders import marketplace_orders_approve_by_provider
from waldur_api_client.api.marketplace_plans import (
    marketplace_plans_history_at_retrieve,
    marketplace_plans_history_list,
)
from waldur_api_client.api.marketplace_provider_offerings import (
    marketplace_provider_offerings_history_at_retrieve,
    marketplace_provider_offerings_history_list,
)
from waldur_api_client.api.marketplace_provider_resources import (
    marketplace_provider_resources_history_at_retrieve,
    marketplace_provider_resources_history_list,
)
from waldur_api_client.api.marketplace_resources import (
    marketplace_resources_history_at_retrieve,
    marketplace_resources_history_list,
)
from waldur_api_client.api.users import (
    users_history_at_retrieve,
    users_history_list,
    users_me_retrieve,
)
from waldur_api_client.models import OrderApproveByProviderRequest, VersionHistory


def versions(response):
    assert response.status_code == HTTPStatus.OK, response.content
    data = json.loads(response.content)
    assert isinstance(data, list) and data, data
    parsed = [strictly(VersionHistory, item) for item in data]
    assert [v.id for v in response.parsed] == [v.id for v in parsed]
    return parsed


def version(response):
    assert response.status_code == HTTPStatus.OK, response.content
    data = json.loads(response.content)
    parsed = strictly(VersionHistory, data)
    assert isinstance(response.parsed, VersionHistory)
    assert "queried_at" in data
    return parsed


def test_every_history_answer_parses_with_the_clients_model(admin, market):
    created = order(admin, market, offering=market.basic)
    marketplace_orders_approve_by_provider.sync_detailed(
        client=admin, uuid=created.uuid, body=OrderApproveByProviderRequest()
    )
    resource = created.marketplace_resource_uuid
    me = users_me_retrieve.sync(client=admin)
    now = datetime.datetime.now(datetime.timezone.utc).isoformat()
    plan = market.basic.plans[0].uuid
    pairs = [
        (marketplace_provider_offerings_history_list, marketplace_provider_offerings_history_at_retrieve, market.basic.uuid),
        (marketplace_plans_history_list, marketplace_plans_history_at_retrieve, plan),
        (marketplace_resources_history_list, marketplace_resources_history_at_retrieve, resource),
        (marketplace_provider_resources_history_list, marketplace_provider_resources_history_at_retrieve, resource),
        (customers_history_list, customers_history_at_retrieve, market.consumer.uuid),
        (users_history_list, users_history_at_retrieve, me.uuid),
    ]
    for listing, at, uuid in pairs:
        listed = versions(listing.sync_detailed(client=admin, uuid=uuid))
        # newest first
        assert [v.revision_date for v in listed] == sorted(
            (v.revision_date for v in listed), reverse=True
        )
        then = version(at.sync_detailed(client=admin, uuid=uuid, timestamp=now))
        assert then.id == listed[0].id

    resource_versions = versions(
        marketplace_resources_history_list.sync_detailed(client=admin, uuid=resource)
    )
    assert resource_versions[-1].revision_user["username"] == me.username
