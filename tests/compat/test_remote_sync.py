"""The published waldur-api-client manages remote offering syncs against the ledger, with a
second ledger as the remote, and parses every answer with its models."""

import json
import os
import re
import subprocess
import tempfile
import time
import uuid

import pytest
from waldur_api_client import AuthenticatedClient
from waldur_api_client.api.customers import customers_add_user, customers_create
from waldur_api_client.api.marketplace_categories import marketplace_categories_create
from waldur_api_client.api.marketplace_provider_offerings import (
    marketplace_provider_offerings_activate,
    marketplace_provider_offerings_create,
    marketplace_provider_offerings_list,
)
from waldur_api_client.api.marketplace_remote_synchronisations import (
    marketplace_remote_synchronisations_create,
    marketplace_remote_synchronisations_destroy,
    marketplace_remote_synchronisations_list,
    marketplace_remote_synchronisations_partial_update,
    marketplace_remote_synchronisations_retrieve,
    marketplace_remote_synchronisations_run_synchronisation,
    marketplace_remote_synchronisations_update,
)
from waldur_api_client.api.marketplace_service_providers import (
    marketplace_service_providers_create,
)
from waldur_api_client.api.remote_waldur_api import (
    remote_waldur_api_remote_categories,
    remote_waldur_api_remote_customers,
)
from waldur_api_client.api.users import users_me_retrieve
from waldur_api_client.errors import UnexpectedStatus
from waldur_api_client.models import (
    BaseProviderPlanRequest,
    BillingTypeEnum,
    BillingUnit,
    CustomerRequest,
    MarketplaceCategoryRequest,
    NestedRemoteLocalCategoryRequest,
    OfferingComponentRequest,
    OfferingCreateRequest,
    PatchedRemoteSynchronisationRequest,
    RemoteCredentialsRequest,
    RemoteSynchronisation,
    RemoteSynchronisationRequest,
    ServiceProviderRequest,
    UserRoleCreateRequest,
)

from conftest import strictly


@pytest.fixture(scope="module")
def remote():
    """A second ledger on a database of its own: the remote Waldur the syncs read."""
    binary = os.environ.get("LEDGER_BIN")
    database_url = os.environ.get("LEDGER_DATABASE_URL")
    if not binary or not database_url:
        pytest.skip("LEDGER_BIN and LEDGER_DATABASE_URL are needed to start a second ledger")
    remote_db = f"ledger_compat_remote_{uuid.uuid4().hex[:8]}"
    remote_url = database_url.rsplit("/", 1)[0] + "/" + remote_db
    log = tempfile.NamedTemporaryFile(mode="w+", delete=False)
    process = subprocess.Popen(
        [binary, "serve", "--listen", "127.0.0.1:0"],
        env={
            **os.environ,
            "DATABASE_URL": remote_url,
            "LEDGER_CATCH_UP_INTERVAL_MS": "200",
            "RUST_LOG": "warn",
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        address = token = None
        for _ in range(150):
            text = open(log.name).read()
            found = re.search(r"^Listening on (\S+)", text, re.M)
            made = re.search(r"^Created staff user.*\n(\S+)", text, re.M)
            if found and made:
                address, token = found.group(1), made.group(1)
                break
            assert process.poll() is None, text
            time.sleep(0.2)
        assert address and token, open(log.name).read()
        yield address, token
    finally:
        process.terminate()
        process.wait()
        subprocess.run(
            ["psql", database_url, "-qc", f"DROP DATABASE IF EXISTS {remote_db} WITH (FORCE)"],
            capture_output=True,
        )
        os.unlink(log.name)


def seed_remote(address, token, unique):
    """A provider organization on the remote whose user owns it, with one active shared
    offering in a category."""
    client = AuthenticatedClient(base_url=address, token=token)
    org = customers_create.sync(client=client, body=CustomerRequest(name=f"Remote Org {unique}"))
    me = users_me_retrieve.sync(client=client)
    customers_add_user.sync_detailed(
        client=client,
        uuid=org.uuid,
        body=UserRoleCreateRequest(role="CUSTOMER.OWNER", user=me.uuid),
    )
    marketplace_service_providers_create.sync(
        client=client, body=ServiceProviderRequest(customer=org.url)
    )
    category = marketplace_categories_create.sync(
        client=client, body=MarketplaceCategoryRequest(title=f"Remote HPC {unique}")
    )
    offering = marketplace_provider_offerings_create.sync(
        client=client,
        body=OfferingCreateRequest(
            name=f"Remote Cluster {unique}",
            category=category.url,
            type_="Marketplace.Basic",
            customer=org.url,
            shared=True,
            components=[
                OfferingComponentRequest(
                    billing_type=BillingTypeEnum.LIMIT, type_="cpu", name="CPU"
                )
            ],
            plans=[
                BaseProviderPlanRequest(name="Default", unit=BillingUnit.MONTH, unit_price="1")
            ],
        ),
    )
    marketplace_provider_offerings_activate.sync_detailed(client=client, uuid=offering.uuid)
    return org, category, offering


def test_a_sync_is_managed_and_run_through_the_client(admin, remote, unique, base_url):
    address, remote_token = remote
    org, remote_category, remote_offering = seed_remote(address, remote_token, unique)
    provider = customers_create.sync(client=admin, body=CustomerRequest(name=f"Local {unique}"))
    service_provider = marketplace_service_providers_create.sync(
        client=admin, body=ServiceProviderRequest(customer=provider.url)
    )
    local_category = marketplace_categories_create.sync(
        client=admin, body=MarketplaceCategoryRequest(title=f"Local HPC {unique}")
    )
    credentials = RemoteCredentialsRequest(api_url=f"{address}/api/", token=remote_token)

    customers = remote_waldur_api_remote_customers.sync(client=admin, body=credentials)
    assert [c.name for c in customers] == [f"Remote Org {unique}"]
    categories = remote_waldur_api_remote_categories.sync(client=admin, body=credentials)
    assert remote_category.uuid in [c.uuid for c in categories]

    body = RemoteSynchronisationRequest(
        api_url=f"{address}/api/",
        token=remote_token,
        remote_organization_uuid=customers[0].uuid,
        remote_organization_name=customers[0].name,
        local_service_provider=service_provider.url,
        remotelocalcategory_set=[
            NestedRemoteLocalCategoryRequest(
                local_category=local_category.url,
                remote_category=remote_category.uuid,
                remote_category_name=remote_category.title,
            )
        ],
    )
    created = marketplace_remote_synchronisations_create.sync_detailed(client=admin, body=body)
    assert created.status_code == 201, created.content
    sync = strictly(RemoteSynchronisation, json.loads(created.content))
    assert sync.get_state_display == "Scheduled"
    assert sync.token == remote_token
    assert sync.remotelocalcategory_set[0].local_category_uuid == local_category.uuid

    listed = marketplace_remote_synchronisations_list.sync(client=admin)
    assert sync.uuid in [s.uuid for s in listed]
    fetched = marketplace_remote_synchronisations_retrieve.sync(client=admin, uuid=sync.uuid)
    assert fetched.remote_organization_uuid == org.uuid

    ran = marketplace_remote_synchronisations_run_synchronisation.sync(
        client=admin, uuid=sync.uuid
    )
    assert ran.get_state_display == "OK", ran.error_message
    assert ran.last_execution is not None
    assert "Processing remote category" in ran.last_output
    imported = marketplace_provider_offerings_list.sync(
        client=admin, customer_uuid=provider.uuid, type_=["Waldur.RemoteOffering"]
    )
    assert [o.name for o in imported] == [f"Remote Cluster {unique}"]
    assert imported[0].backend_id == remote_offering.uuid.hex

    # PUT carries remote_organization_uuid, which an update ignores
    put = marketplace_remote_synchronisations_update.sync(
        client=admin, uuid=sync.uuid, body=body
    )
    assert put.remote_organization_uuid == org.uuid
    patched = marketplace_remote_synchronisations_partial_update.sync(
        client=admin,
        uuid=sync.uuid,
        body=PatchedRemoteSynchronisationRequest(is_active=False),
    )
    assert patched.is_active is False

    marketplace_remote_synchronisations_destroy.sync_detailed(client=admin, uuid=sync.uuid)
    try:
        marketplace_remote_synchronisations_retrieve.sync(client=admin, uuid=sync.uuid)
        raise AssertionError("a deleted sync is still there")
    except UnexpectedStatus as gone:
        assert gone.status_code == 404


def test_only_staff_reach_syncs(login, unique):
    plain = login(f"plain-{unique}")
    with pytest.raises(UnexpectedStatus) as refused:
        marketplace_remote_synchronisations_list.sync(client=plain)
    assert refused.value.status_code == 403
