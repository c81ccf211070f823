"""The published waldur-api-client manages Arrow settings and customer mappings against the
ledger, imports a license as a resource and links another, and parses every answer with
its models. The settings point at an address where nothing listens: none of these calls
needs Arrow, and a failing Arrow is an answer, not an error."""

import json
from http import HTTPStatus

import pytest
from conftest import strictly
from waldur_api_client.api.admin import (
    admin_arrow_billing_syncs_list,
    admin_arrow_consumption_records_list,
    admin_arrow_customer_mappings_create,
    admin_arrow_customer_mappings_destroy,
    admin_arrow_customer_mappings_import_license,
    admin_arrow_customer_mappings_link_resource,
    admin_arrow_customer_mappings_list,
    admin_arrow_customer_mappings_partial_update,
    admin_arrow_customer_mappings_retrieve,
    admin_arrow_settings_create,
    admin_arrow_settings_list,
    admin_arrow_settings_partial_update,
    admin_arrow_settings_retrieve,
    admin_arrow_settings_validate_credentials,
)
from waldur_api_client.api.marketplace_orders import marketplace_orders_list
from waldur_api_client.api.marketplace_resources import marketplace_resources_retrieve
from waldur_api_client.errors import UnexpectedStatus
from waldur_api_client.models import (
    ArrowCredentialsRequest,
    ArrowCredentialsValidationResponse,
    ArrowCustomerMapping,
    ArrowCustomerMappingCreate,
    ArrowCustomerMappingCreateRequest,
    ArrowSettings,
    ArrowSettingsCreate,
    ArrowSettingsCreateRequest,
    ImportLicenseRequestRequest,
    ImportLicenseResponse,
    LinkResourceRequestRequest,
    LinkResourceResponse,
    PatchedArrowCustomerMappingRequest,
    PatchedArrowSettingsRequest,
)

# Nothing listens here; the ledger's test server allows loopback addresses.
NOWHERE = "http://127.0.0.1:9/index.php/api/"
KEY = "compat-arrow-key"


def parsed(response, status, model):
    assert response.status_code == status, response.content
    data = json.loads(response.content)
    if isinstance(data, list):
        return [strictly(model, item) for item in data]
    value = strictly(model, data)
    assert isinstance(response.parsed, model)
    return value


@pytest.fixture
def settings(admin):
    response = admin_arrow_settings_create.sync_detailed(
        client=admin, body=ArrowSettingsCreateRequest(api_url=NOWHERE, api_key=KEY)
    )
    return parsed(response, HTTPStatus.CREATED, ArrowSettingsCreate)


def test_settings_are_created_read_and_changed_without_showing_the_key(admin, settings):
    assert settings.partner_reference == ""
    assert settings.classification_filter == "IAAS"
    raw = admin_arrow_settings_retrieve.sync_detailed(client=admin, uuid=settings.uuid)
    fetched = parsed(raw, HTTPStatus.OK, ArrowSettings)
    assert KEY not in raw.content.decode()
    assert fetched.api_url == NOWHERE
    changed = admin_arrow_settings_partial_update.sync_detailed(
        client=admin,
        uuid=settings.uuid,
        body=PatchedArrowSettingsRequest(sync_enabled=True),
    )
    assert parsed(changed, HTTPStatus.OK, ArrowSettings).sync_enabled is True
    listed = admin_arrow_settings_list.sync_detailed(client=admin)
    assert settings.uuid in [s.uuid for s in parsed(listed, HTTPStatus.OK, ArrowSettings)]

    check = admin_arrow_settings_validate_credentials.sync_detailed(
        client=admin, body=ArrowCredentialsRequest(api_url=NOWHERE, api_key=KEY)
    )
    answer = parsed(check, HTTPStatus.OK, ArrowCredentialsValidationResponse)
    assert answer.valid is False
    assert answer.error.startswith("Arrow API request to whoami failed: ")


def test_mappings_import_and_link_through_the_client(admin, login, settings, market):
    created = admin_arrow_customer_mappings_create.sync_detailed(
        client=admin,
        body=ArrowCustomerMappingCreateRequest(
            settings=settings.uuid,
            arrow_reference=f"XSP{market.unique}",
            waldur_customer=market.consumer.uuid,
        ),
    )
    mapping = parsed(created, HTTPStatus.CREATED, ArrowCustomerMappingCreate)
    assert mapping.settings == settings.uuid
    assert mapping.waldur_customer == market.consumer.uuid
    assert mapping.waldur_customer_name == market.consumer.name

    with pytest.raises(UnexpectedStatus) as duplicate:
        admin_arrow_customer_mappings_create.sync_detailed(
            client=admin,
            body=ArrowCustomerMappingCreateRequest(
                settings=settings.uuid,
                arrow_reference=f"XSP{market.unique}",
                waldur_customer=market.provider.uuid,
            ),
        )
    assert duplicate.value.status_code == 400
    assert json.loads(duplicate.value.content) == {
        "non_field_errors": ["The fields arrow_reference, settings must make a unique set."]
    }

    listed = admin_arrow_customer_mappings_list.sync_detailed(
        client=admin, settings_uuid=settings.uuid
    )
    assert [m.uuid for m in parsed(listed, HTTPStatus.OK, ArrowCustomerMapping)] == [
        mapping.uuid
    ]
    renamed = admin_arrow_customer_mappings_partial_update.sync_detailed(
        client=admin,
        uuid=mapping.uuid,
        body=PatchedArrowCustomerMappingRequest(arrow_company_name="Consumer Oy"),
    )
    assert parsed(renamed, HTTPStatus.OK, ArrowCustomerMapping).arrow_company_name == (
        "Consumer Oy"
    )
    fetched = admin_arrow_customer_mappings_retrieve.sync_detailed(
        client=admin, uuid=mapping.uuid
    )
    assert parsed(fetched, HTTPStatus.OK, ArrowCustomerMapping).settings == settings.url

    license_reference = f"XSP-L-{market.unique}"
    imported = admin_arrow_customer_mappings_import_license.sync_detailed(
        client=admin,
        uuid=mapping.uuid,
        body=ImportLicenseRequestRequest(
            license_reference=license_reference,
            offering_uuid=market.basic.uuid,
            project_uuid=market.project.uuid,
            license_name="Azure research",
        ),
    )
    result = parsed(imported, HTTPStatus.OK, ImportLicenseResponse)
    assert result.success is True
    assert result.resource_name == "Azure research"
    assert result.project_name == market.project.name

    resource = marketplace_resources_retrieve.sync(client=admin, uuid=result.resource_uuid)
    assert resource.state == "OK"
    assert resource.backend_id == license_reference
    orders = marketplace_orders_list.sync(client=admin, resource_uuid=result.resource_uuid)
    assert [(o.type_, o.state) for o in orders] == [("Create", "done")]

    with pytest.raises(UnexpectedStatus) as again:
        admin_arrow_customer_mappings_import_license.sync_detailed(
            client=admin,
            uuid=mapping.uuid,
            body=ImportLicenseRequestRequest(
                license_reference=license_reference,
                offering_uuid=market.basic.uuid,
                project_uuid=market.project.uuid,
            ),
        )
    assert again.value.status_code == 400
    assert json.loads(again.value.content) == {
        "error": f"License {license_reference} has already been imported"
    }

    linked = admin_arrow_customer_mappings_link_resource.sync_detailed(
        client=admin,
        uuid=mapping.uuid,
        body=LinkResourceRequestRequest(
            resource_uuid=result.resource_uuid, license_reference="XSP-NEW"
        ),
    )
    link = parsed(linked, HTTPStatus.OK, LinkResourceResponse)
    assert link.previous_backend_id == license_reference

    # Consumption records need invoice items the ledger does not have: read them raw.
    records = admin_arrow_consumption_records_list.sync_detailed(client=admin)
    assert records.status_code == 200
    assert json.loads(records.content) == []
    syncs = admin_arrow_billing_syncs_list.sync_detailed(client=admin)
    assert syncs.status_code == 200 and json.loads(syncs.content) == []

    # Only staff manage Arrow.
    user = login(f"arrow-user-{market.unique}")
    with pytest.raises(UnexpectedStatus) as refused:
        admin_arrow_customer_mappings_list.sync_detailed(client=user)
    assert refused.value.status_code == 403

    deleted = admin_arrow_customer_mappings_destroy.sync_detailed(client=admin, uuid=mapping.uuid)
    assert deleted.status_code == 204
    with pytest.raises(UnexpectedStatus):
        admin_arrow_customer_mappings_retrieve.sync(client=admin, uuid=mapping.uuid)
