//! Reading resources from the consumer's and the provider's side, their list filters and
//! the provider's backend id.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp};
use crate::resource_world::{PROVIDER_RESOURCES, RESOURCES, world};
use crate::world::plan_uuid;

/// The sorted uuids staff finds with `query`.
async fn find(app: &TestApp, query: &str) -> Vec<String> {
    let reply = app.resources(query, &app.admin_token).await;
    assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.text);
    let mut found = uuids(&reply);
    found.sort();
    found
}

fn uuids(reply: &Reply) -> Vec<String> {
    reply
        .items()
        .iter()
        .map(|r| r["uuid"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_resource_renders_every_field_the_client_reads_without_nulls_where_it_wants_text() {
    let w = world().await;
    let resource = w.ok_resource(json!({"storage": 50})).await;

    let reply = w.app.resource(&resource, &w.app.admin_token).await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let body = &reply.body;
    // The published client's `Resource` model: keys it parses as text, uuids or times.
    for key in [
        "offering",
        "offering_name",
        "offering_uuid",
        "offering_description",
        "offering_image",
        "offering_thumbnail",
        "offering_type",
        "offering_terms_of_service",
        "provider_name",
        "provider_uuid",
        "category_title",
        "category_uuid",
        "category_icon",
        "plan_unit",
        "plan_name",
        "plan_uuid",
        "plan_description",
        "uuid",
        "created",
        "modified",
        "url",
        "scope",
        "description",
        "state",
        "backend_id",
        "effective_id",
        "project",
        "project_uuid",
        "project_name",
        "project_description",
        "project_end_date_requested_by",
        "customer_uuid",
        "customer_name",
        "name",
        "slug",
        "error_message",
        "error_traceback",
        "offering_customer_uuid",
        "last_sync",
        "plan",
        "customer_slug",
        "project_slug",
    ] {
        assert!(body[key].is_string(), "{key} is {}", body[key]);
    }
    for key in [
        "offering_shared",
        "offering_billable",
        "is_usage_based",
        "is_limit_based",
        "can_terminate",
        "restrict_member_access",
        "downscaled",
        "paused",
    ] {
        assert!(body[key].is_boolean(), "{key} is {}", body[key]);
    }
    for key in ["report", "endpoints", "available_actions"] {
        assert!(body[key].is_array(), "{key} is {}", body[key]);
    }
    for key in [
        "attributes",
        "limits",
        "backend_metadata",
        "current_usages",
        "offering_plugin_options",
        "options",
    ] {
        assert!(body[key].is_object(), "{key} is {}", body[key]);
    }
    // No backend scope and no parent offering: nullable keys are null, the others absent.
    assert_eq!(body["resource_uuid"], Value::Null);
    for key in [
        "parent_offering_uuid",
        "parent_offering_name",
        "parent_uuid",
        "parent_name",
    ] {
        assert!(body.get(key).is_none(), "{key} is {}", body[key]);
    }
    for key in [
        "resource_type",
        "project_end_date",
        "end_date_requested_by",
        "username",
        "limit_usage",
        "order_in_progress",
        "creation_order",
        "end_date",
    ] {
        assert!(body.get(key).is_some(), "{key} missing");
    }
    assert_eq!(body["uuid"], resource.as_str());
    assert_eq!(body["state"], "OK");
    assert_eq!(body["name"], "my-res");
    assert_eq!(body["limits"], json!({"storage": 50}));
    assert_eq!(body["attributes"], json!({"name": "my-res"}));
    assert_eq!(body["offering_uuid"], w.offering.uuid().as_str());
    assert_eq!(body["offering_type"], "Marketplace.Basic");
    assert_eq!(body["project_uuid"], w.project.uuid().as_str());
    assert_eq!(body["project_name"], "Alpha");
    assert_eq!(body["customer_uuid"], w.consumer.uuid().as_str());
    assert_eq!(body["customer_name"], "Consumer Org");
    assert_eq!(body["provider_uuid"], w.provider.uuid().as_str());
    assert_eq!(body["offering_customer_uuid"], w.provider.uuid().as_str());
    assert_eq!(body["plan_name"], "Default");
    assert_eq!(body["plan_unit"], "month");
    assert_eq!(body["plan"], w.plan_url(&w.offering, "Default").as_str());
    assert_eq!(body["project"], w.project.url().as_str());
    assert_eq!(body["is_limit_based"], true);
    assert_eq!(body["is_usage_based"], false);
    assert_eq!(body["can_terminate"], true);
    assert_eq!(
        body["url"],
        format!("{}{RESOURCES}{resource}/", w.app.address).as_str()
    );
    let provider_view = w
        .app
        .provider_resource(&resource, &w.provider_owner.token)
        .await;
    assert_eq!(
        provider_view.status,
        StatusCode::OK,
        "{}",
        provider_view.text
    );
    assert_eq!(
        provider_view.body["url"],
        format!("{}{PROVIDER_RESOURCES}{resource}/", w.app.address).as_str()
    );
}

#[tokio::test]
async fn consumers_see_resources_of_their_projects_and_providers_those_of_their_offerings() {
    let w = world().await;
    let resource = w.ok_resource(json!({"storage": 50})).await;

    for user in [&w.consumer_owner, &w.manager, &w.provider_owner] {
        let list = w.app.resources("", &user.token).await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.text);
        assert_eq!(uuids(&list), vec![resource.clone()]);
        assert_eq!(list.count(), 1);
        assert_eq!(
            w.app.resource(&resource, &user.token).await.status,
            StatusCode::OK
        );
    }
    let list = w.app.resources("", &w.stranger.token).await;
    assert_eq!(list.count(), 0);
    assert_eq!(
        w.app.resource(&resource, &w.stranger.token).await.status,
        StatusCode::NOT_FOUND
    );

    // The provider side shows only the provider's resources.
    let list = w.app.provider_resources("", &w.provider_owner.token).await;
    assert_eq!(uuids(&list), vec![resource.clone()]);
    for user in [&w.consumer_owner, &w.manager, &w.stranger] {
        assert_eq!(w.app.provider_resources("", &user.token).await.count(), 0);
        assert_eq!(
            w.app.provider_resource(&resource, &user.token).await.status,
            StatusCode::NOT_FOUND
        );
    }
    let support = w.app.create_support_user("support").await;
    assert_eq!(
        w.app.provider_resources("", &support.token).await.count(),
        1
    );
    assert_eq!(w.app.resources("", &support.token).await.count(), 1);
    let anonymous = w.app.resources("", "").await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn resource_lists_filter_by_state_offering_project_customer_provider_and_names() {
    let w = world().await;
    let ok = w.ok_resource(json!({"storage": 50})).await;
    let (_, creating) = w.pending_resource(json!({"storage": 60})).await;
    let other_offering = w
        .basic_offering(json!({"plans": [{"name": "Default", "unit": "month"}]}))
        .await;
    let other = w
        .order_with(
            &w.app.admin_token,
            &other_offering,
            "Default",
            json!({"attributes": {"name": "other-box"}}),
        )
        .await;
    let other = other.body["marketplace_resource_uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let token = &w.app.admin_token;
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };

    assert_eq!(find(&w.app, "state=OK").await, vec![ok.clone()]);
    assert_eq!(
        find(&w.app, "state=Creating").await,
        sorted(vec![creating.clone(), other.clone()])
    );
    assert_eq!(find(&w.app, "state=OK&state=Creating").await.len(), 3);
    let reply = w.app.resources("state=ok-ish", token).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body,
        json!({"state": ["Select a valid choice. ok-ish is not one of the available choices."]})
    );
    let by_offering = w
        .app
        .resources(&format!("offering_uuid={}", other_offering.uuid()), token)
        .await;
    assert_eq!(uuids(&by_offering), vec![other.clone()]);
    for query in [
        format!("project_uuid={}", w.project.uuid()),
        format!("customer_uuid={}", w.consumer.uuid()),
        format!("provider_uuid={}", w.provider.uuid()),
        format!("category_uuid={}", w.category.uuid()),
        "offering_type=Marketplace.Basic".to_string(),
    ] {
        assert_eq!(w.app.resources(&query, token).await.count(), 3, "{query}");
    }
    for query in [
        format!("project_uuid={}", w.consumer.uuid()),
        "provider_uuid=not-a-uuid".to_string(),
        "offering_type=Marketplace.Slurm".to_string(),
    ] {
        assert_eq!(w.app.resources(&query, token).await.count(), 0, "{query}");
    }
    let by_plan = w
        .app
        .resources(
            &format!("plan_uuid={}", plan_uuid(&w.offering, "Default")),
            token,
        )
        .await;
    assert_eq!(by_plan.count(), 2);
    assert_eq!(find(&w.app, "name=OTHER").await, vec![other.clone()]);
    assert_eq!(find(&w.app, "name_exact=other").await, Vec::<String>::new());
    assert_eq!(
        find(&w.app, "name_exact=other-box").await,
        vec![other.clone()]
    );
    assert_eq!(find(&w.app, "query=box").await, vec![other.clone()]);
    let by_uuid = w.app.resources(&format!("query={ok}"), token).await;
    assert_eq!(uuids(&by_uuid), vec![ok.clone()]);
    assert_eq!(find(&w.app, "created=2000-01-01").await.len(), 3);
    assert_eq!(find(&w.app, "created=2999-01-01").await.len(), 0);
    assert_eq!(
        find(&w.app, "modified_before=2999-01-01T00:00:00Z")
            .await
            .len(),
        3
    );
}

#[tokio::test]
async fn resource_lists_page_order_and_select_fields_like_waldur() {
    let w = world().await;
    let first = w.ok_resource(json!({"storage": 50})).await;
    let (_, second) = w.pending_resource(json!({"storage": 60})).await;
    let token = &w.app.admin_token;

    let page = w.app.resources("page_size=1", token).await;
    assert_eq!(page.count(), 2);
    assert_eq!(uuids(&page), vec![first.clone()]);
    assert!(page.header("link").unwrap().contains("rel=\"next\""));
    let newest = w.app.resources("o=-created", token).await;
    assert_eq!(uuids(&newest), vec![second.clone(), first.clone()]);
    let by_state = w.app.resources("o=state", token).await;
    assert_eq!(uuids(&by_state), vec![second.clone(), first.clone()]);
    let bad = w.app.resources("o=secret", token).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let fields = w
        .app
        .provider_resources("field=uuid&field=backend_id&field=state", token)
        .await;
    let mut keys: Vec<String> = fields.items()[0]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    keys.sort();
    assert_eq!(keys, vec!["backend_id", "state", "uuid"]);
    let one = w
        .app
        .get(&format!("{RESOURCES}{first}/?field=name"), token)
        .await;
    assert_eq!(one.body, json!({"name": "my-res"}));
}

#[tokio::test]
async fn the_provider_sets_a_resources_backend_id_and_others_may_not() {
    let w = world().await;
    let resource = w.ok_resource(json!({"storage": 50})).await;

    // Consumers do not see the provider's view; the consumer view has no such action.
    for user in [&w.consumer_owner, &w.manager, &w.stranger] {
        let reply = w
            .app
            .set_resource_backend_id(&resource, &user.token, "x")
            .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text);
    }
    let consumer_side = w
        .app
        .resource_action(
            &resource,
            "set_backend_id",
            &w.consumer_owner.token,
            json!({"backend_id": "x"}),
        )
        .await;
    assert_eq!(consumer_side.status, StatusCode::NOT_FOUND);
    // A provider's member without the permission sees it but may not change it.
    let reader = w.app.create_user("reader").await;
    w.app
        .grant("customers", &w.provider.uuid(), &reader, "CUSTOMER.SUPPORT")
        .await;
    let reply = w
        .app
        .set_resource_backend_id(&resource, &reader.token, "x")
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text);

    let reply = w
        .app
        .set_resource_backend_id(&resource, &w.provider_owner.token, "slurm-42")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!({"status": "Resource backend_id has been changed."})
    );
    let again = w
        .app
        .set_resource_backend_id(&resource, &w.provider_owner.token, "slurm-42")
        .await;
    assert_eq!(
        again.body,
        json!({"status": "Resource backend_id is not changed."})
    );
    let missing = w
        .app
        .post(
            &format!("{PROVIDER_RESOURCES}{resource}/set_backend_id/"),
            &w.provider_owner.token,
            json!({}),
        )
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        missing.body,
        json!({"backend_id": ["This field is required."]})
    );

    let found = w
        .app
        .provider_resources("backend_id=slurm-42", &w.provider_owner.token)
        .await;
    assert_eq!(uuids(&found), vec![resource.clone()]);
    assert_eq!(found.items()[0]["backend_id"], "slurm-42");
    let events = w
        .app
        .scalar_i64("SELECT count(*) FROM events WHERE event_type = 'ResourceBackendIdSet'")
        .await;
    assert_eq!(events, 1);
}

#[tokio::test]
async fn resource_lists_take_repeated_offering_uuids_and_the_clients_other_filters() {
    let w = world().await;
    let limited = w.ok_resource(json!({"storage": 50})).await;
    let usage_offering = w
        .basic_offering(json!({
            "components": [{"type": "cpu", "name": "CPU", "billing_type": "usage"}],
            "plans": [{"name": "Default", "unit": "month"}],
        }))
        .await;
    let end_date = (chrono::Utc::now().date_naive() + chrono::Days::new(5)).to_string();
    let used = w
        .order_with(
            &w.app.admin_token,
            &usage_offering,
            "Default",
            json!({"attributes": {"name": "used", "end_date": end_date}}),
        )
        .await;
    let used = used.body["marketplace_resource_uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let token = &w.provider_owner.token;
    let both = format!(
        "offering_uuid={}&offering_uuid={}",
        w.offering.uuid(),
        usage_offering.uuid()
    );

    assert_eq!(w.app.provider_resources(&both, token).await.count(), 2);
    let one = format!("offering_uuid={}&state=OK&state=Erred", w.offering.uuid());
    assert_eq!(
        uuids(&w.app.provider_resources(&one, token).await),
        vec![limited.clone()]
    );
    for (query, expected) in [
        ("usage_based=true", vec![used.clone()]),
        ("only_limit_based=true", vec![limited.clone()]),
        ("limit_based=false", vec![used.clone()]),
        ("has_terminate_date=true", vec![used.clone()]),
        ("project_name=alp", {
            let mut all = vec![limited.clone(), used.clone()];
            all.sort();
            all
        }),
        ("paused=true", vec![]),
        (
            "parent_offering_uuid=0123456789abcdef0123456789abcdef",
            vec![],
        ),
    ] {
        assert_eq!(find(&w.app, query).await, expected, "{query}");
    }
    let by_slug = w
        .app
        .provider_resources(
            &format!(
                "offering_slug={}",
                usage_offering.body["slug"].as_str().unwrap()
            ),
            token,
        )
        .await;
    assert_eq!(uuids(&by_slug), vec![used.clone()]);
    let by_url = w
        .app
        .resources(
            &format!("offering={}", w.public_url(&usage_offering)),
            token,
        )
        .await;
    assert_eq!(uuids(&by_url), vec![used.clone()]);
    // Waldur orders states by their number: Creating before OK.
    let by_state = w.app.resources("o=-state", &w.app.admin_token).await;
    assert_eq!(uuids(&by_state), vec![limited.clone(), used.clone()]);
    let by_end = w.app.resources("o=end_date", &w.app.admin_token).await;
    assert_eq!(uuids(&by_end), vec![used.clone(), limited.clone()]);
    let unknown = w.app.resources("o=modified", &w.app.admin_token).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
}
