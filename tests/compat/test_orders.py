"""The published waldur-api-client drives orders through every state a consumer, a provider
and staff can move them to; every answer is parsed with the client's models and checked
against the types those models declare."""

import json
from http import HTTPStatus

import pytest
from conftest import strictly
from waldur_api_client.api.marketplace_orders import (
    marketplace_orders_approve_by_consumer,
    marketplace_orders_approve_by_provider,
    marketplace_orders_cancel,
    marketplace_orders_count,
    marketplace_orders_create,
    marketplace_orders_destroy,
    marketplace_orders_list,
    marketplace_orders_offering_retrieve,
    marketplace_orders_reject_by_consumer,
    marketplace_orders_reject_by_provider,
    marketplace_orders_retrieve,
    marketplace_orders_retry,
    marketplace_orders_set_backend_id,
    marketplace_orders_set_state_done,
    marketplace_orders_set_state_erred,
    marketplace_orders_set_state_executing,
    marketplace_orders_unlink,
)
from waldur_api_client.errors import UnexpectedStatus
from waldur_api_client.models import (
    GenericOrderAttributes,
    OrderApproveByProviderRequest,
    OrderBackendIDRequest,
    OrderCreateRequest,
    OrderDetails,
    OrderDetailsFieldEnum,
    OrderDetailsOEnum,
    OrderErrorDetailsRequest,
    OrderInfoResponse,
    OrderProviderRejectionRequest,
    OrderState,
    PublicOfferingDetails,
    RequestTypes,
    Status,
)
from waldur_api_client.models.order_create_request_limits import OrderCreateRequestLimits
from waldur_api_client.types import UNSET as UNSET_


def body_of(response, status, model=None):
    """The answer's JSON, after checking its status and, given a model, that the client's
    model accepts it key by key."""
    assert response.status_code == status, response.content
    if model is None:
        return json.loads(response.content) if response.content else None
    data = json.loads(response.content)
    if isinstance(data, list):
        return [strictly(model, item) for item in data]
    parsed = strictly(model, data)
    assert isinstance(response.parsed, model)
    return parsed


def order(client, market, offering=None, storage=None, name="alloc"):
    """Creates an order for the market's project: the Slurm offering unless told otherwise."""
    offering = offering or market.slurm
    limits = OrderCreateRequestLimits()
    if storage is not None:
        limits.additional_properties = {"storage": storage}
    response = marketplace_orders_create.sync_detailed(
        client=client,
        body=OrderCreateRequest(
            offering=offering.url,
            project=market.project.url,
            plan=offering.plans[0].url,
            attributes=GenericOrderAttributes(name=f"{name} {market.unique}"),
            limits=limits,
        ),
    )
    return body_of(response, HTTPStatus.CREATED, OrderDetails)


def fetch(client, uuid, **kwargs):
    response = marketplace_orders_retrieve.sync_detailed(client=client, uuid=uuid, **kwargs)
    return body_of(response, HTTPStatus.OK, OrderDetails)


def test_a_slurm_order_goes_from_provider_approval_to_done(admin, market):
    created = order(admin, market, storage=3)
    # Staff skip the consumer review; a Slurm order always waits for its provider.
    assert created.state == OrderState.PENDING_PROVIDER
    assert created.type_ == RequestTypes.CREATE
    assert created.offering_uuid == market.slurm.uuid
    assert created.cost == "16.0000000000"  # 10 per month + 3 GB at 2
    # The create answer names reviewers by URL, as Waldur's create serializer does.
    assert created.consumer_reviewed_by.endswith("/")
    assert "/api/users/" in created.consumer_reviewed_by
    assert created.consumer_reviewed_by_username == "admin"
    assert created.created_by_username == "admin"

    approved = marketplace_orders_approve_by_provider.sync_detailed(
        client=admin, uuid=created.uuid, body=OrderApproveByProviderRequest()
    )
    info = body_of(approved, HTTPStatus.OK, OrderInfoResponse)
    assert info.detail == "Order has been approved and is being processed."

    executing = fetch(admin, created.uuid)
    assert executing.state == OrderState.EXECUTING
    assert executing.provider_reviewed_by == "admin"
    assert executing.provider_reviewed_at is not None
    assert executing.consumer_reviewed_by == "admin"
    assert executing.completed_at is None

    changed = marketplace_orders_set_backend_id.sync_detailed(
        client=admin, uuid=created.uuid, body=OrderBackendIDRequest(backend_id="job-42")
    )
    assert body_of(changed, HTTPStatus.OK, Status).status == "Order backend_id has been changed."
    unchanged = marketplace_orders_set_backend_id.sync_detailed(
        client=admin, uuid=created.uuid, body=OrderBackendIDRequest(backend_id="job-42")
    )
    assert body_of(unchanged, HTTPStatus.OK, Status).status == "Order backend_id is not changed."

    done = marketplace_orders_set_state_done.sync_detailed(client=admin, uuid=created.uuid)
    assert done.status_code == HTTPStatus.OK

    finished = fetch(admin, created.uuid)
    assert finished.state == OrderState.DONE
    assert finished.backend_id == "job-42"
    assert finished.completed_at is not None
    assert finished.cost == "16.0000000000"
    assert finished.limits.additional_properties == {"storage": 3}
    assert finished.plan_uuid == market.slurm.plans[0].uuid
    assert finished.can_terminate is False


def test_a_basic_order_is_done_once_its_provider_approves(admin, market):
    created = order(admin, market, offering=market.basic)
    assert created.state == OrderState.PENDING_PROVIDER
    assert created.cost == "5.0000000000"

    approved = marketplace_orders_approve_by_provider.sync_detailed(
        client=admin, uuid=created.uuid, body=OrderApproveByProviderRequest()
    )
    assert body_of(approved, HTTPStatus.OK, OrderInfoResponse).detail == (
        "Order has been approved and is being processed."
    )
    done = fetch(admin, created.uuid)
    assert done.state == OrderState.DONE
    assert done.completed_at is not None

    # Done already: the client documents no 409 for set_state_done, so it raises.
    with pytest.raises(UnexpectedStatus) as raised:
        marketplace_orders_set_state_done.sync_detailed(client=admin, uuid=created.uuid)
    assert raised.value.status_code == HTTPStatus.CONFLICT
    # approve_by_provider documents its 409.
    again = marketplace_orders_approve_by_provider.sync_detailed(
        client=admin, uuid=created.uuid, body=OrderApproveByProviderRequest()
    )
    assert again.status_code == HTTPStatus.CONFLICT
    assert again.parsed is None


def test_an_order_by_a_project_manager_waits_for_the_consumer_owner(admin, login, market):
    from waldur_api_client.api.customers import customers_add_user
    from waldur_api_client.api.projects import projects_add_user
    from waldur_api_client.api.users import users_me_retrieve
    from waldur_api_client.models import UserRoleCreateRequest

    unique = market.unique
    manager = login(f"manager{unique}")
    owner = login(f"owner{unique}")
    provider_owner = login(f"seller{unique}")
    for client, add, scope, role in [
        (manager, projects_add_user, market.project, "PROJECT.MANAGER"),
        (owner, customers_add_user, market.consumer, "CUSTOMER.OWNER"),
        (provider_owner, customers_add_user, market.provider, "CUSTOMER.OWNER"),
    ]:
        me = users_me_retrieve.sync(client=client)
        add.sync(client=admin, uuid=scope.uuid, body=UserRoleCreateRequest(role=role, user=me.uuid))

    created = order(manager, market)
    assert created.state == OrderState.PENDING_CONSUMER
    assert created.created_by_username == f"manager{unique}"
    # Unreviewed: the reviewer keys are left out, as Waldur leaves them out.
    assert created.consumer_reviewed_by is UNSET_

    # A project manager may not approve; the client documents no 403 here.
    with pytest.raises(UnexpectedStatus) as raised:
        marketplace_orders_approve_by_consumer.sync_detailed(client=manager, uuid=created.uuid)
    assert raised.value.status_code == HTTPStatus.FORBIDDEN

    approved = marketplace_orders_approve_by_consumer.sync_detailed(
        client=owner, uuid=created.uuid
    )
    assert body_of(approved, HTTPStatus.OK, OrderInfoResponse).detail == (
        "Order is pending provider approval."
    )
    pending = fetch(owner, created.uuid)
    assert pending.state == OrderState.PENDING_PROVIDER
    assert pending.consumer_reviewed_by == f"owner{unique}"
    assert pending.consumer_reviewed_at is not None

    # The provider's owner sees the order of its offering, and approves it.
    visible = marketplace_orders_list.sync_detailed(
        client=provider_owner, state=[OrderState.PENDING_PROVIDER]
    )
    assert [o.uuid for o in body_of(visible, HTTPStatus.OK, OrderDetails)] == [created.uuid]
    approved = marketplace_orders_approve_by_provider.sync_detailed(
        client=provider_owner, uuid=created.uuid, body=OrderApproveByProviderRequest()
    )
    assert body_of(approved, HTTPStatus.OK, OrderInfoResponse).detail
    executing = fetch(provider_owner, created.uuid)
    assert executing.state == OrderState.EXECUTING
    assert executing.provider_reviewed_by == f"seller{unique}"

    # Only staff may unlink; unlink documents its 403.
    refused = marketplace_orders_unlink.sync_detailed(client=owner, uuid=created.uuid)
    assert refused.status_code == HTTPStatus.FORBIDDEN

    # The consumer's owner rejects the next order of the manager.
    second = order(manager, market, name="second")
    rejected = marketplace_orders_reject_by_consumer.sync_detailed(
        client=owner,
        uuid=second.uuid,
        body=OrderErrorDetailsRequest(consumer_rejection_comment="Not this quarter"),
    )
    assert rejected.status_code == HTTPStatus.OK
    gone = fetch(manager, second.uuid)
    assert gone.state == OrderState.REJECTED
    assert gone.consumer_reviewed_by == f"owner{unique}"
    assert gone.consumer_rejection_comment == "Not this quarter"
    assert gone.completed_at is not None


def test_a_provider_rejects_an_order(admin, market):
    created = order(admin, market)
    rejected = marketplace_orders_reject_by_provider.sync_detailed(
        client=admin,
        uuid=created.uuid,
        body=OrderProviderRejectionRequest(provider_rejection_comment="No capacity"),
    )
    assert rejected.status_code == HTTPStatus.OK
    fetched = fetch(admin, created.uuid)
    assert fetched.state == OrderState.REJECTED
    assert fetched.provider_reviewed_by == "admin"
    assert fetched.provider_rejection_comment == "No capacity"
    assert fetched.can_terminate is False

    # Rejected is final: reject_by_provider documents its 409.
    again = marketplace_orders_reject_by_provider.sync_detailed(
        client=admin, uuid=created.uuid, body=OrderProviderRejectionRequest()
    )
    assert again.status_code == HTTPStatus.CONFLICT


def test_a_basic_order_is_canceled_and_a_slurm_one_cannot_be(admin, market):
    basic = order(admin, market, offering=market.basic)
    assert basic.can_terminate is True
    canceled = marketplace_orders_cancel.sync_detailed(client=admin, uuid=basic.uuid)
    assert canceled.status_code == HTTPStatus.ACCEPTED
    fetched = fetch(admin, basic.uuid)
    assert fetched.state == OrderState.CANCELED
    assert fetched.can_terminate is False

    slurm = order(admin, market)
    assert slurm.can_terminate is False
    with pytest.raises(UnexpectedStatus) as raised:
        marketplace_orders_cancel.sync_detailed(client=admin, uuid=slurm.uuid)
    assert raised.value.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert fetch(admin, slurm.uuid).state == OrderState.PENDING_PROVIDER


def test_an_erred_order_is_retried_and_then_done(admin, market):
    created = order(admin, market, storage=1)
    executing = marketplace_orders_set_state_executing.sync_detailed(
        client=admin, uuid=created.uuid
    )
    assert executing.status_code == HTTPStatus.OK
    assert fetch(admin, created.uuid).state == OrderState.EXECUTING

    erred = marketplace_orders_set_state_erred.sync_detailed(
        client=admin,
        uuid=created.uuid,
        body=OrderErrorDetailsRequest(
            error_message="sacctmgr failed", error_traceback="Traceback: exit 1"
        ),
    )
    assert erred.status_code == HTTPStatus.OK
    failed = fetch(admin, created.uuid)
    assert failed.state == OrderState.ERRED
    assert failed.error_message == "sacctmgr failed"
    assert failed.error_traceback == "Traceback: exit 1"  # staff see the traceback
    assert failed.error_updated_at is not None

    retried = marketplace_orders_retry.sync_detailed(client=admin, uuid=created.uuid)
    assert retried.status_code == HTTPStatus.OK
    again = fetch(admin, created.uuid)
    assert again.state == OrderState.EXECUTING
    assert again.error_message == ""
    assert again.error_traceback == ""
    assert again.completed_at is None

    done = marketplace_orders_set_state_done.sync_detailed(client=admin, uuid=created.uuid)
    assert done.status_code == HTTPStatus.OK
    finished = fetch(admin, created.uuid)
    assert finished.state == OrderState.DONE
    assert finished.cost == "12.0000000000"


def test_a_pending_order_is_deleted_and_a_finished_one_unlinked_by_staff(admin, market):
    pending = order(admin, market)
    deleted = marketplace_orders_destroy.sync_detailed(client=admin, uuid=pending.uuid)
    assert deleted.status_code == HTTPStatus.NO_CONTENT
    with pytest.raises(UnexpectedStatus) as raised:
        marketplace_orders_retrieve.sync_detailed(client=admin, uuid=pending.uuid)
    assert raised.value.status_code == HTTPStatus.NOT_FOUND

    finished = order(admin, market, offering=market.basic)
    marketplace_orders_approve_by_provider.sync_detailed(
        client=admin, uuid=finished.uuid, body=OrderApproveByProviderRequest()
    )
    # Done orders are no longer deletable; the client documents no 409 for DELETE.
    with pytest.raises(UnexpectedStatus) as raised:
        marketplace_orders_destroy.sync_detailed(client=admin, uuid=finished.uuid)
    assert raised.value.status_code == HTTPStatus.CONFLICT
    unlinked = marketplace_orders_unlink.sync_detailed(client=admin, uuid=finished.uuid)
    assert unlinked.status_code == HTTPStatus.NO_CONTENT
    assert marketplace_orders_list.sync(client=admin, offering_uuid=market.basic.uuid) == []


def test_orders_are_listed_by_state_and_offering_with_selected_fields(admin, market):
    first = order(admin, market, storage=2, name="first")
    second = order(admin, market, name="second")
    basic = order(admin, market, offering=market.basic)
    marketplace_orders_approve_by_provider.sync_detailed(
        client=admin, uuid=second.uuid, body=OrderApproveByProviderRequest()
    )

    listed = marketplace_orders_list.sync_detailed(
        client=admin, offering_uuid=market.slurm.uuid
    )
    orders = body_of(listed, HTTPStatus.OK, OrderDetails)
    assert [o.uuid for o in orders] == [first.uuid, second.uuid]  # oldest first
    assert listed.headers["X-Result-Count"] == "2"

    pending = marketplace_orders_list.sync(
        client=admin, offering_uuid=market.slurm.uuid, state=[OrderState.PENDING_PROVIDER]
    )
    assert [o.uuid for o in pending] == [first.uuid]
    both = marketplace_orders_list.sync_all(
        client=admin,
        project_uuid=market.project.uuid,
        state=[OrderState.PENDING_PROVIDER, OrderState.EXECUTING],
    )
    assert {o.uuid for o in both} == {first.uuid, second.uuid, basic.uuid}
    assert marketplace_orders_count.sync(
        client=admin, provider_uuid=market.provider.uuid, type_=[RequestTypes.CREATE]
    ) == 3
    assert marketplace_orders_list.sync(
        client=admin, offering_uuid=market.slurm.uuid, state=[OrderState.DONE]
    ) == []

    newest_first = marketplace_orders_list.sync(
        client=admin, customer_uuid=market.consumer.uuid, o=[OrderDetailsOEnum.VALUE_2]
    )
    assert [o.uuid for o in newest_first] == [basic.uuid, second.uuid, first.uuid]

    by_cost = marketplace_orders_list.sync(
        client=admin, offering_uuid=market.slurm.uuid, o=[OrderDetailsOEnum.VALUE_1]
    )
    assert [o.cost for o in by_cost] == ["14.0000000000", "10.0000000000"]
    by_resource = marketplace_orders_list.sync(
        client=admin, resource_uuid=first.marketplace_resource_uuid
    )
    assert [o.uuid for o in by_resource] == [first.uuid]
    assert [
        o.uuid
        for o in marketplace_orders_list.sync(
            client=admin, offering_type=["Marketplace.Basic"], project_uuid=market.project.uuid
        )
    ] == [basic.uuid]

    paged = marketplace_orders_list.sync_detailed(
        client=admin, project_uuid=market.project.uuid, page_size=2
    )
    assert len(body_of(paged, HTTPStatus.OK, OrderDetails)) == 2
    assert 'rel="next"' in paged.headers["Link"]

    # `field=` narrows each item to the named keys, which the model still parses.
    narrowed = marketplace_orders_list.sync_detailed(
        client=admin,
        offering_uuid=market.slurm.uuid,
        field=[OrderDetailsFieldEnum.UUID, OrderDetailsFieldEnum.STATE, OrderDetailsFieldEnum.COST],
    )
    assert [sorted(item) for item in json.loads(narrowed.content)] == [
        ["cost", "state", "uuid"],
        ["cost", "state", "uuid"],
    ]
    parsed = body_of(narrowed, HTTPStatus.OK, OrderDetails)
    assert [(o.uuid, o.state, o.cost) for o in parsed] == [
        (first.uuid, OrderState.PENDING_PROVIDER, "14.0000000000"),
        (second.uuid, OrderState.EXECUTING, "10.0000000000"),
    ]

    one = marketplace_orders_retrieve.sync_detailed(
        client=admin,
        uuid=second.uuid,
        field=[OrderDetailsFieldEnum.UUID, OrderDetailsFieldEnum.STATE],
    )
    assert json.loads(one.content) == {"uuid": second.uuid.hex, "state": "executing"}
    assert body_of(one, HTTPStatus.OK, OrderDetails).state == OrderState.EXECUTING

    offering = marketplace_orders_offering_retrieve.sync_detailed(client=admin, uuid=first.uuid)
    details = body_of(offering, HTTPStatus.OK, PublicOfferingDetails)
    assert details.uuid == market.slurm.uuid
    assert details.type_ == "Marketplace.Slurm"
    assert [(c.type_, c.price) for c in details.plans[0].components] == [
        ("cpu", "0.0000000000"),
        ("storage", "2.0000000000"),
    ]


def test_orders_are_filtered_by_dates_approvability_names_and_slugs(admin, base_url, market):
    """The filters as the client encodes them: datetimes in ISO form with their offset,
    booleans as `true`, list filters as repeated parameters."""
    import datetime

    first = order(admin, market, name="alpha")
    second = order(admin, market, name="beta")
    basic = order(admin, market, offering=market.basic, name="gamma")
    marketplace_orders_approve_by_provider.sync_detailed(
        client=admin, uuid=second.uuid, body=OrderApproveByProviderRequest()
    )

    def listed(**filters):
        response = marketplace_orders_list.sync_detailed(
            client=admin, project_uuid=market.project.uuid, **filters
        )
        return [o.uuid for o in body_of(response, HTTPStatus.OK, OrderDetails)]

    tick = datetime.timedelta(microseconds=1)
    assert listed(created=second.created) == [second.uuid, basic.uuid]
    assert listed(created_before=second.created - tick) == [first.uuid]
    # The provider approved the second order after the third was placed.
    assert listed(modified=basic.created) == [second.uuid, basic.uuid]
    assert listed(modified_before=basic.created - tick) == [first.uuid]
    # Staff may approve anything: the filter keeps the orders awaiting the provider.
    assert listed(can_approve_as_provider=True) == [first.uuid, basic.uuid]
    assert listed(can_approve_as_consumer=True) == []
    assert listed(query="BETA") == [second.uuid]
    assert listed(query=first.uuid.hex) == [first.uuid]
    assert listed(resource_name=f"gamma {market.unique}") == [basic.uuid]
    assert listed(offering_slug=[market.basic.slug]) == [basic.uuid]
    assert listed(offering_slug=[market.basic.slug, market.slurm.slug]) == [
        first.uuid,
        second.uuid,
        basic.uuid,
    ]
    resource_url = f"{base_url}/api/marketplace-resources/{first.marketplace_resource_uuid.hex}/"
    assert listed(resource=resource_url) == [first.uuid]


def test_sync_all_follows_the_link_header_past_one_page_of_a_hundred(admin, market):
    # The site agent lists an offering's pending orders with sync_all, which asks for pages
    # of 100 and follows the `next` link of each answer.
    from concurrent.futures import ThreadPoolExecutor

    def place(i):
        return marketplace_orders_create.sync(
            client=admin,
            body=OrderCreateRequest(
                offering=market.basic.url,
                project=market.project.url,
                plan=market.basic.plans[0].url,
                attributes=GenericOrderAttributes(name=f"n{i}"),
            ),
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        created = list(pool.map(place, range(101)))
    listed = marketplace_orders_list.sync_all(
        client=admin,
        offering_uuid=market.basic.uuid,
        state=[OrderState.PENDING_PROVIDER, OrderState.EXECUTING],
    )
    # Each order once, oldest first.
    assert len(listed) == 101
    assert {o.uuid for o in listed} == {o.uuid for o in created}
    assert [o.created for o in listed] == sorted(o.created for o in created)
    assert marketplace_orders_count.sync(client=admin, offering_uuid=market.basic.uuid) == 101
