"""Waldur's site agent polls the ledger for the orders of its offering.

waldur-site-agent 0.9.7 is the newest release whose requirements admit the pinned
waldur-api-client 8.1.3 (later releases pin other client versions exactly; 1.0.7 pins
8.1.2), so requirements.txt pins it and these tests run that release's own
`OfferingOrderProcessor` against the ledger, with the `MockBackend` it ships in place of
SLURM. The calls that 1.0.7 adds to order polling are replayed with the pinned client at
the end, each citing the agent function it copies.

The agent's resource step (`_process_create_order`, `_create_resource`) is replayed with the
pinned client rather than run: agent 0.9.7 calls `.get` on the resource's
`offering_plugin_options`, which client 8.1.3 parses into a model without it, so that step
fails on this client pair whatever a server answers. The agent's own registration of its
identity and services (`/api/marketplace-site-agent-identities/`) is not served here, so the
tests drive the order processor directly.
"""

import json
from http import HTTPStatus
from urllib.parse import parse_qsl

import attrs
import pytest
from conftest import strictly
from test_orders import fetch, order
from waldur_api_client.api.marketplace_orders import (
    marketplace_orders_approve_by_provider,
    marketplace_orders_list,
    marketplace_orders_reject_by_provider,
    marketplace_orders_retrieve,
    marketplace_orders_retry,
    marketplace_orders_set_backend_id,
    marketplace_orders_set_state_done,
)
from waldur_api_client.api.marketplace_provider_offerings import (
    marketplace_provider_offerings_retrieve,
)
from waldur_api_client.api.marketplace_service_providers import (
    marketplace_service_providers_list,
)
from waldur_api_client.models import (
    OrderApproveByProviderRequest,
    OrderBackendIDRequest,
    OrderDetails,
    OrderDetailsFieldEnum,
    OrderProviderRejectionRequest,
    OrderState,
    ProviderOfferingDetails,
    ProviderOfferingDetailsFieldEnum,
    ServiceProvider,
    ServiceProviderFieldEnum,
)
from waldur_site_agent.backend.exceptions import BackendError
from waldur_site_agent.common import processors, structures, utils
from waldur_site_agent.testing.mock_backend import MockBackend

class Agent:
    """The agent's order processor for the market's Slurm offering, recording every request
    it sends."""

    def __init__(self, base_url, token, offering_uuid):
        self.requests = []
        self.offering = structures.Offering(
            name="Cluster",
            waldur_api_url=f"{base_url}/api/",
            waldur_api_token=token,
            waldur_offering_uuid=offering_uuid.hex,
            backend_type="mock",
            order_processing_backend="mock",
        )
        # As the agent's polling loop builds it (polling_processing/agent_order_process.start).
        client = utils.get_client(self.offering.api_url, self.offering.api_token)
        self.client = attrs.evolve(
            client, httpx_args={"event_hooks": {"request": [self._record]}}
        )
        self.backend = MockBackend()
        self.processor = processors.OfferingOrderProcessor(
            self.offering, self.client, resource_backend=self.backend
        )

    def _record(self, request):
        query = parse_qsl(request.url.query.decode())
        self.requests.append((request.method, request.url.path, query))

    def poll(self):
        """One polling cycle of the offering, as `agent_order_process.start` runs it."""
        self.requests.clear()
        self.processor.process_offering()
        return list(self.requests)


@pytest.fixture
def agent(login, base_url, market):
    # A staff user of its own, so that the orders show who reviewed them. Staff, because agent
    # 0.9.7 logs a non-staff user's roles through `MePermission.role_description`, which
    # client 8.1.3 no longer has (an AttributeError whatever the server answers).
    staff = login(f"agent{market.unique}", staff=True)
    return Agent(base_url, staff.token, market.slurm.uuid)


@pytest.fixture
def without_provider_resources(monkeypatch):
    """Stands in for the two processor methods that work on the order's resource through
    /api/marketplace-provider-resources/; records the orders they were given."""
    handled = []

    def process_create_order(self, order):
        handled.append(order.uuid)
        return True

    monkeypatch.setattr(
        processors.OfferingOrderProcessor, "_process_create_order", process_create_order
    )
    monkeypatch.setattr(
        processors.OfferingOrderProcessor, "_post_process_order", lambda self, order: True
    )
    return handled


def test_the_agent_sets_itself_up_from_the_offering(agent, market):
    assert agent.processor.waldur_offering.uuid == market.slurm.uuid
    assert agent.processor.service_provider.uuid == market.service_provider.uuid
    # The offering's components join the agent's configuration.
    assert set(agent.offering.backend_components) == {"cpu", "storage"}
    assert agent.backend.service_provider_uuid == market.service_provider.uuid.hex


def test_the_agent_approves_and_completes_a_pending_create_order(
    admin, agent, market, without_provider_resources
):
    created = order(admin, market, storage=4)
    # Orders the agent must leave alone: another offering's, a rejected one.
    order(admin, market, offering=market.basic)
    rejected = order(admin, market, name="rejected")
    marketplace_orders_reject_by_provider.sync_detailed(
        client=admin, uuid=rejected.uuid, body=OrderProviderRejectionRequest()
    )

    calls = agent.poll()

    assert without_provider_resources == [created.uuid]
    done = fetch(admin, created.uuid)
    assert done.state == OrderState.DONE
    assert done.provider_reviewed_by == f"agent{market.unique}"
    assert fetch(admin, rejected.uuid).state == OrderState.REJECTED

    orders = f"/api/marketplace-orders/{created.uuid.hex}/"
    assert calls == [
        (
            "GET",
            "/api/marketplace-orders/",
            [
                ("offering_uuid", market.slurm.uuid.hex),
                ("state", "pending-provider"),
                ("state", "executing"),
                ("page_size", "100"),
            ],
        ),
        ("POST", f"{orders}approve_by_provider/", []),
        ("GET", orders, []),
        ("GET", orders, [("field", "uuid"), ("field", "state")]),
        ("POST", f"{orders}set_state_done/", []),
    ]

    # Nothing is left for the next cycle.
    assert agent.poll() == [calls[0]]


def test_a_backend_failure_errs_the_order_and_a_retry_completes_it(
    admin, agent, market, monkeypatch
):
    created = order(admin, market)

    def fail(self, order):
        raise BackendError("sacctmgr: account limit reached")

    monkeypatch.setattr(processors.OfferingOrderProcessor, "_process_create_order", fail)
    calls = agent.poll()

    # The agent passes the order's uuid to set_state_erred as a UUID, not as hex.
    assert calls[-1] == (
        "POST", f"/api/marketplace-orders/{created.uuid}/set_state_erred/", []
    )
    erred = fetch(admin, created.uuid)
    assert erred.state == OrderState.ERRED
    assert erred.error_message == "sacctmgr: account limit reached"
    assert "BackendError" in erred.error_traceback
    # Erred orders are not polled.
    assert len(agent.poll()) == 1

    retried = marketplace_orders_retry.sync_detailed(client=admin, uuid=created.uuid)
    assert retried.status_code == HTTPStatus.OK
    monkeypatch.setattr(
        processors.OfferingOrderProcessor, "_process_create_order", lambda self, order: True
    )
    monkeypatch.setattr(
        processors.OfferingOrderProcessor, "_post_process_order", lambda self, order: True
    )
    calls = agent.poll()
    # Executing already: no approval, straight to done.
    assert [method for method, _, _ in calls] == ["GET", "GET", "POST"]
    assert fetch(admin, created.uuid).state == OrderState.DONE


def test_the_agent_creates_the_resource_and_completes_the_order(admin, market):
    """`OfferingOrderProcessor._process_create_order` and `_create_resource`, replayed with
    the pinned client: read the order's resource from the provider side, record the backend
    id of what the backend created, and complete the order."""
    from waldur_api_client.api.marketplace_provider_resources import (
        marketplace_provider_resources_retrieve,
        marketplace_provider_resources_set_backend_id,
    )
    from waldur_api_client.models import Resource, ResourceBackendIDRequest, ResourceState

    created = order(admin, market, storage=4)
    approval = marketplace_orders_approve_by_provider.sync_detailed(
        client=admin, uuid=created.uuid.hex, body=OrderApproveByProviderRequest()
    )
    assert approval.status_code == HTTPStatus.OK

    response = marketplace_provider_resources_retrieve.sync_detailed(
        uuid=created.marketplace_resource_uuid.hex, client=admin
    )
    assert response.status_code == HTTPStatus.OK
    resource = strictly(Resource, json.loads(response.content))
    assert resource.uuid == created.marketplace_resource_uuid
    assert (resource.state, resource.backend_id) == (ResourceState.CREATING, "")
    assert resource.limits.additional_properties == {"storage": 4}

    status = marketplace_provider_resources_set_backend_id.sync(
        client=admin,
        uuid=resource.uuid.hex,
        body=ResourceBackendIDRequest(backend_id="alloc-4cpu"),
    )
    assert status.status == "Resource backend_id has been changed."
    done = marketplace_orders_set_state_done.sync_detailed(client=admin, uuid=created.uuid.hex)
    assert done.status_code == HTTPStatus.OK

    assert fetch(admin, created.uuid).state == OrderState.DONE
    final = marketplace_provider_resources_retrieve.sync(uuid=resource.uuid.hex, client=admin)
    assert (final.state, final.backend_id) == (ResourceState.OK, "alloc-4cpu")


def test_the_calls_that_the_newest_agent_adds_are_served(admin, login, agent, market):
    """waldur-site-agent 1.0.7 (which needs waldur-api-client 8.1.2) narrows its set-up reads
    with `field=`, may reject a pending order, and records the id of an asynchronous backend
    order on the order. Its calls, replayed with the pinned client and the same arguments, as
    the provider's owner (not staff), the usual owner of an agent's token."""
    from waldur_api_client.api.customers import customers_add_user
    from waldur_api_client.api.users import users_me_retrieve
    from waldur_api_client.models import UserRoleCreateRequest

    client = login(f"seller{market.unique}")
    customers_add_user.sync(
        client=admin,
        uuid=market.provider.uuid,
        body=UserRoleCreateRequest(
            role="CUSTOMER.OWNER", user=users_me_retrieve.sync(client=client).uuid
        ),
    )

    # OfferingBaseProcessor.__init__
    offering = marketplace_provider_offerings_retrieve.sync_detailed(
        client=client,
        uuid=agent.offering.uuid,
        field=[
            ProviderOfferingDetailsFieldEnum.COMPONENTS,
            ProviderOfferingDetailsFieldEnum.CUSTOMER_UUID,
            ProviderOfferingDetailsFieldEnum.PARTITIONS,
            ProviderOfferingDetailsFieldEnum.PLUGIN_OPTIONS,
        ],
    )
    assert offering.status_code == HTTPStatus.OK
    assert sorted(json.loads(offering.content)) == [
        "components",
        "customer_uuid",
        "partitions",
        "plugin_options",
    ]
    details = strictly(ProviderOfferingDetails, json.loads(offering.content))
    assert details.customer_uuid == market.provider.uuid
    assert [c.type_ for c in details.components] == ["cpu", "storage"]
    providers = marketplace_service_providers_list.sync_detailed(
        customer_uuid=details.customer_uuid.hex,
        client=client,
        field=[ServiceProviderFieldEnum.UUID],
    )
    assert json.loads(providers.content) == [{"uuid": market.service_provider.uuid.hex}]
    assert [strictly(ServiceProvider, p).uuid for p in json.loads(providers.content)] == [
        market.service_provider.uuid
    ]

    # OfferingOrderProcessor.process_offering
    first = order(admin, market, name="first")
    second = order(admin, market, name="second")
    orders = marketplace_orders_list.sync_all(
        client=client,
        offering_uuid=agent.offering.uuid,
        state=[OrderState.PENDING_PROVIDER, OrderState.EXECUTING],
    )
    assert [o.uuid for o in orders] == [first.uuid, second.uuid]

    # OfferingOrderProcessor.process_order, PendingOrderDecision.REJECT
    rejected = marketplace_orders_reject_by_provider.sync_detailed(
        client=client, uuid=second.uuid.hex, body=OrderProviderRejectionRequest()
    )
    assert rejected.status_code == HTTPStatus.OK
    rejected = fetch(admin, second.uuid)
    assert rejected.state == OrderState.REJECTED
    assert rejected.provider_reviewed_by == f"seller{market.unique}"

    # OfferingOrderProcessor.process_order, PendingOrderDecision.ACCEPT
    approval = marketplace_orders_approve_by_provider.sync_detailed(
        client=client, uuid=first.uuid.hex, body=OrderApproveByProviderRequest()
    )
    assert approval.status_code == HTTPStatus.OK
    refreshed = marketplace_orders_retrieve.sync(client=client, uuid=first.uuid.hex)
    assert refreshed.state == OrderState.EXECUTING

    # OfferingOrderProcessor._submit_async_target_order: the order stays executing.
    marketplace_orders_set_backend_id.sync(
        client=client, uuid=first.uuid, body=OrderBackendIDRequest(backend_id="target-order-7")
    )
    polled = marketplace_orders_list.sync_all(
        client=client,
        offering_uuid=agent.offering.uuid,
        state=[OrderState.PENDING_PROVIDER, OrderState.EXECUTING],
    )
    assert [(o.uuid, o.state, o.backend_id) for o in polled] == [
        (first.uuid, OrderState.EXECUTING, "target-order-7")
    ]

    # OfferingOrderProcessor.process_order, once the backend's order is complete.
    state = marketplace_orders_retrieve.sync_detailed(
        client=client,
        uuid=first.uuid.hex,
        field=[OrderDetailsFieldEnum.UUID, OrderDetailsFieldEnum.STATE],
    )
    assert strictly(OrderDetails, json.loads(state.content)).state == OrderState.EXECUTING
    done = marketplace_orders_set_state_done.sync_detailed(client=client, uuid=first.uuid.hex)
    assert done.status_code == HTTPStatus.OK
    assert fetch(admin, first.uuid).state == OrderState.DONE
