"""The published waldur-api-client drives the directory endpoints and parses every answer
with its own models."""

from uuid import UUID

from waldur_api_client import AuthenticatedClient
from waldur_api_client.api.customers import (
    customers_add_user,
    customers_count,
    customers_create,
    customers_list,
    customers_list_users_list,
    customers_partial_update,
    customers_retrieve,
)
from waldur_api_client.api.marketplace_categories import (
    marketplace_categories_create,
    marketplace_categories_list,
    marketplace_categories_retrieve,
)
from waldur_api_client.api.marketplace_service_providers import (
    marketplace_service_providers_create,
    marketplace_service_providers_list,
    marketplace_service_providers_retrieve,
)
from waldur_api_client.api.projects import (
    projects_add_user,
    projects_create,
    projects_list,
    projects_list_users_list,
    projects_retrieve,
)
from waldur_api_client.api.users import users_create, users_list, users_me_retrieve
from waldur_api_client.models import (
    CustomerRequest,
    MarketplaceCategoryRequest,
    PatchedCustomerRequest,
    ProjectRequest,
    ServiceProviderRequest,
    UserRequest,
    UserRoleCreateRequest,
)


def test_me_parses_as_the_admin(admin):
    me = users_me_retrieve.sync(client=admin)
    assert me.username == "admin"
    assert me.is_staff is True
    assert isinstance(me.uuid, UUID)


def test_a_whole_directory_is_created_and_read_back_through_the_client(admin, base_url, unique):
    customer = customers_create.sync(
        client=admin, body=CustomerRequest(name=f"Org {unique}", abbreviation="ORG")
    )
    assert customer.name == f"Org {unique}"
    assert customer.blocked is False

    fetched = customers_retrieve.sync(client=admin, uuid=customer.uuid)
    assert fetched.uuid == customer.uuid
    listed = customers_list.sync(client=admin, name=unique)
    assert [c.uuid for c in listed] == [customer.uuid]
    assert customers_count.sync(client=admin, name=unique) == 1

    patched = customers_partial_update.sync(
        client=admin, uuid=customer.uuid, body=PatchedCustomerRequest(email="org@example.com")
    )
    assert patched.email == "org@example.com"

    project = projects_create.sync(
        client=admin, body=ProjectRequest(name=f"Project {unique}", customer=customer.url)
    )
    assert project.customer_uuid == customer.uuid
    assert projects_retrieve.sync(client=admin, uuid=project.uuid).name == f"Project {unique}"
    assert [p.uuid for p in projects_list.sync(client=admin, customer=[customer.uuid])] == [
        project.uuid
    ]

    category = marketplace_categories_create.sync(
        client=admin, body=MarketplaceCategoryRequest(title=f"Category {unique}")
    )
    assert marketplace_categories_retrieve.sync(client=admin, uuid=category.uuid).title == (
        f"Category {unique}"
    )
    assert any(c.uuid == category.uuid for c in marketplace_categories_list.sync(client=admin))

    provider = marketplace_service_providers_create.sync(
        client=admin, body=ServiceProviderRequest(customer=customer.url)
    )
    assert provider.customer_uuid == customer.uuid
    assert marketplace_service_providers_retrieve.sync(client=admin, uuid=provider.uuid).uuid == (
        provider.uuid
    )
    providers = marketplace_service_providers_list.sync(client=admin, customer_uuid=customer.uuid)
    assert [p.uuid for p in providers] == [provider.uuid]


def test_roles_are_granted_listed_and_visible_to_the_grantee(admin, base_url, unique):
    customer = customers_create.sync(client=admin, body=CustomerRequest(name=f"Team {unique}"))
    project = projects_create.sync(
        client=admin, body=ProjectRequest(name=f"Team project {unique}", customer=customer.url)
    )
    owner = users_create.sync(
        client=admin, body=UserRequest(username=f"owner{unique}", email=f"o{unique}@example.com")
    )
    manager = users_create.sync(
        client=admin, body=UserRequest(username=f"manager{unique}", email=f"m{unique}@example.com")
    )
    assert [u.uuid for u in users_list.sync(client=admin, username=f"owner{unique}")] == [owner.uuid]

    granted = customers_add_user.sync(
        client=admin,
        uuid=customer.uuid,
        body=UserRoleCreateRequest(role="CUSTOMER.OWNER", user=owner.uuid),
    )
    assert granted.expiration_time is None
    projects_add_user.sync(
        client=admin,
        uuid=project.uuid,
        body=UserRoleCreateRequest(role="PROJECT.MANAGER", user=manager.uuid),
    )

    customer_team = customers_list_users_list.sync(client=admin, uuid=customer.uuid)
    assert [(m.user_uuid, m.role_name) for m in customer_team] == [(owner.uuid, "CUSTOMER.OWNER")]
    project_team = projects_list_users_list.sync(client=admin, uuid=project.uuid)
    assert [(m.user_uuid, m.role_name) for m in project_team] == [
        (manager.uuid, "PROJECT.MANAGER")
    ]
