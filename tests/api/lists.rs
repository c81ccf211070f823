//! Waldur list conventions: paging headers, ordering, field selection, HEAD.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Reply, TestApp, spawn_app};

/// Staff creates customers "Customer 01" … "Customer NN".
async fn create_customers(app: &TestApp, count: usize) {
    for i in 1..=count {
        app.create_customer(&format!("Customer {i:02}")).await;
    }
}

fn names(reply: &Reply) -> Vec<String> {
    reply
        .items()
        .iter()
        .map(|c| c["name"].as_str().expect("a name").to_string())
        .collect()
}

fn numbered(range: std::ops::RangeInclusive<usize>) -> Vec<String> {
    range.map(|i| format!("Customer {i:02}")).collect()
}

#[tokio::test]
async fn a_middle_page_has_first_prev_next_and_last_links_in_waldurs_form() {
    let app = spawn_app().await;
    create_customers(&app, 12).await;
    let base = format!("{}/api/customers/", app.address);

    let reply = app
        .get("/api/customers/?page_size=5&page=2", &app.admin_token)
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.header("x-result-count"), Some("12"));
    let expected = format!(
        "<{base}?page_size=5>; rel=\"first\", <{base}?page_size=5>; rel=\"prev\", \
         <{base}?page=3&page_size=5>; rel=\"next\", <{base}?page=3&page_size=5>; rel=\"last\""
    );
    assert_eq!(reply.header("link"), Some(expected.as_str()));
    assert_eq!(names(&reply), numbered(6..=10));
}

#[tokio::test]
async fn the_first_page_uses_ten_items_and_has_no_prev_link() {
    let app = spawn_app().await;
    create_customers(&app, 12).await;
    let base = format!("{}/api/customers/", app.address);

    let reply = app.get("/api/customers/", &app.admin_token).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.count(), 12);
    assert_eq!(names(&reply), numbered(1..=10));
    let expected = format!(
        "<{base}>; rel=\"first\", <{base}?page=2>; rel=\"next\", <{base}?page=2>; rel=\"last\""
    );
    assert_eq!(reply.header("link"), Some(expected.as_str()));
}

#[tokio::test]
async fn the_last_page_has_no_next_link_and_the_query_is_sorted() {
    let app = spawn_app().await;
    create_customers(&app, 12).await;
    let base = format!("{}/api/customers/", app.address);

    let reply = app
        .get(
            "/api/customers/?page_size=5&page=3&name=customer",
            &app.admin_token,
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(names(&reply), numbered(11..=12));
    let expected = format!(
        "<{base}?name=customer&page_size=5>; rel=\"first\", \
         <{base}?name=customer&page=2&page_size=5>; rel=\"prev\", \
         <{base}?name=customer&page=3&page_size=5>; rel=\"last\""
    );
    assert_eq!(reply.header("link"), Some(expected.as_str()));
}

#[tokio::test]
async fn links_keep_repeated_keys_in_request_order_and_quote_like_python() {
    let app = spawn_app().await;
    create_customers(&app, 3).await;
    let base = format!("{}/api/customers/", app.address);

    let reply = app
        .get(
            "/api/customers/?page_size=1&page=2&field=uuid&field=name&name=customer%200",
            &app.admin_token,
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let query = "field=uuid&field=name&name=customer+0";
    let expected = format!(
        "<{base}?{query}&page_size=1>; rel=\"first\", <{base}?{query}&page_size=1>; rel=\"prev\", \
         <{base}?{query}&page=3&page_size=1>; rel=\"next\", <{base}?{query}&page=3&page_size=1>; rel=\"last\""
    );
    assert_eq!(reply.header("link"), Some(expected.as_str()));
}

#[tokio::test]
async fn a_single_page_links_first_and_last_without_page() {
    let app = spawn_app().await;
    let alice = app.create_user("alice").await;
    let base = format!("{}/api/users/", app.address);

    let reply = app.get("/api/users/", &alice.token).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.count(), 1);
    let expected = format!("<{base}>; rel=\"first\", <{base}>; rel=\"last\"");
    assert_eq!(reply.header("link"), Some(expected.as_str()));
}

#[tokio::test]
async fn page_size_five_splits_twelve_customers_into_three_pages() {
    let app = spawn_app().await;
    create_customers(&app, 12).await;

    let mut pages = Vec::new();
    for page in 1..=3 {
        pages.push(
            app.get(
                &format!("/api/customers/?page_size=5&page={page}"),
                &app.admin_token,
            )
            .await,
        );
    }
    let beyond = app
        .get("/api/customers/?page_size=5&page=4", &app.admin_token)
        .await;
    let last = app
        .get("/api/customers/?page_size=5&page=last", &app.admin_token)
        .await;

    let sizes: Vec<usize> = pages.iter().map(|p| p.items().len()).collect();
    assert_eq!(sizes, vec![5, 5, 2]);
    let all: Vec<String> = pages.iter().flat_map(names).collect();
    assert_eq!(all, numbered(1..=12));
    assert_eq!(beyond.status, StatusCode::NOT_FOUND);
    assert_eq!(beyond.body, json!({"detail": "Invalid page."}));
    assert_eq!(names(&last), numbered(11..=12));
}

#[tokio::test]
async fn page_size_above_the_maximum_is_clamped_to_three_hundred() {
    let app = spawn_app().await;
    // Distinct slug bases, so creating them concurrently is safe.
    let wanted: Vec<String> = (1..=301).map(|i| format!("Org {i:03}")).collect();
    for batch in wanted.chunks(25) {
        futures::future::join_all(batch.iter().map(|name| app.create_customer(name))).await;
    }
    let base = format!("{}/api/customers/", app.address);

    let reply = app
        .get("/api/customers/?page_size=5000", &app.admin_token)
        .await;
    let second = app
        .get("/api/customers/?page_size=5000&page=2", &app.admin_token)
        .await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.count(), 301);
    assert_eq!(reply.items().len(), 300);
    let expected = format!(
        "<{base}?page_size=5000>; rel=\"first\", <{base}?page=2&page_size=5000>; rel=\"next\", \
         <{base}?page=2&page_size=5000>; rel=\"last\""
    );
    assert_eq!(reply.header("link"), Some(expected.as_str()));
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(names(&second), vec!["Org 301"]);
}

#[tokio::test]
async fn a_bad_page_number_is_404_invalid_page() {
    let app = spawn_app().await;
    create_customers(&app, 3).await;

    for query in ["page=0", "page=abc", "page=-1", "page=2"] {
        let reply = app
            .get(&format!("/api/customers/?{query}"), &app.admin_token)
            .await;

        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{query}");
        assert_eq!(reply.body, json!({"detail": "Invalid page."}), "{query}");
    }
    let users = app.get("/api/users/?page=9", &app.admin_token).await;
    assert_eq!(users.status, StatusCode::NOT_FOUND);
    assert_eq!(users.body, json!({"detail": "Invalid page."}));
}

#[tokio::test]
async fn an_empty_list_is_page_one_with_a_zero_count() {
    let app = spawn_app().await;

    let reply = app.get("/api/customers/?page=1", &app.admin_token).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, json!([]));
    assert_eq!(reply.count(), 0);
}

#[tokio::test]
async fn o_orders_by_name_ascending_and_descending() {
    let app = spawn_app().await;
    for name in ["Beta", "Alpha", "Gamma"] {
        app.create_customer(name).await;
    }

    let ascending = app.get("/api/customers/?o=name", &app.admin_token).await;
    let descending = app.get("/api/customers/?o=-name", &app.admin_token).await;

    assert_eq!(ascending.status, StatusCode::OK, "{}", ascending.text);
    assert_eq!(names(&ascending), vec!["Alpha", "Beta", "Gamma"]);
    assert_eq!(descending.status, StatusCode::OK, "{}", descending.text);
    assert_eq!(names(&descending), vec!["Gamma", "Beta", "Alpha"]);
}

#[tokio::test]
async fn users_are_ordered_by_username_descending() {
    let app = spawn_app().await;
    for name in ["bob", "alice", "carol"] {
        app.create_user(name).await;
    }

    let reply = app.get("/api/users/?o=-username", &app.admin_token).await;

    let usernames: Vec<&str> = reply
        .items()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(usernames, vec!["carol", "bob", "alice", "admin"]);
}

#[tokio::test]
async fn an_unknown_ordering_key_is_refused_with_400() {
    let app = spawn_app().await;
    let customer = app.create_customer("Acme").await;
    app.create_project(&customer.url(), "Rockets").await;

    let users = app.get("/api/users/?o=bogus", &app.admin_token).await;
    let projects = app.get("/api/projects/?o=-bogus", &app.admin_token).await;

    assert_eq!(users.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        users.body,
        json!({"o": ["Select a valid choice. bogus is not one of the available choices."]})
    );
    assert_eq!(projects.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        projects.body,
        json!({"o": ["Select a valid choice. -bogus is not one of the available choices."]})
    );
}

#[tokio::test]
async fn field_selection_returns_only_the_named_keys() {
    let app = spawn_app().await;
    let customer = app.create_customer("Acme").await;

    let list = app
        .get(
            "/api/customers/?field=uuid&field=name&field=nonsense",
            &app.admin_token,
        )
        .await;
    let detail = app
        .get(
            &format!("/api/customers/{}/?field=name", customer.uuid()),
            &app.admin_token,
        )
        .await;
    let users = app
        .get("/api/users/?field=username", &app.admin_token)
        .await;

    assert_eq!(
        list.body,
        json!([{"uuid": customer.uuid(), "name": "Acme"}])
    );
    assert_eq!(detail.body, json!({"name": "Acme"}));
    assert_eq!(users.body, json!([{"username": "admin"}]));
}

#[tokio::test]
async fn head_on_a_list_answers_the_count_without_a_body() {
    let app = spawn_app().await;
    create_customers(&app, 3).await;

    let customers = app
        .request(
            Method::HEAD,
            "/api/customers/",
            Some(&app.admin_token),
            None,
        )
        .await;
    let users = app
        .request(Method::HEAD, "/api/users/", Some(&app.admin_token), None)
        .await;

    assert_eq!(customers.status, StatusCode::OK);
    assert_eq!(customers.header("x-result-count"), Some("3"));
    assert_eq!(customers.text, "");
    assert_eq!(users.status, StatusCode::OK);
    assert_eq!(users.header("x-result-count"), Some("1"));
    assert_eq!(users.text, "");
}

#[tokio::test]
async fn the_name_filter_matches_case_insensitive_substrings() {
    let app = spawn_app().await;
    for name in ["Acme Corp", "Zeta ACME Labs", "Globex"] {
        app.create_customer(name).await;
    }

    let reply = app.get("/api/customers/?name=acme", &app.admin_token).await;
    let literal = app.get("/api/customers/?name=%25", &app.admin_token).await;

    assert_eq!(reply.count(), 2);
    assert_eq!(names(&reply), vec!["Acme Corp", "Zeta ACME Labs"]);
    assert_eq!(literal.count(), 0, "a % in the filter matches itself");
}

#[tokio::test]
async fn the_query_filter_matches_names_abbreviations_and_uuids() {
    let app = spawn_app().await;
    app.create_customer("Acme Corp").await;
    let globex = app
        .post(
            "/api/customers/",
            &app.admin_token,
            json!({"name": "Globex", "abbreviation": "GLX"}),
        )
        .await;
    app.create_customer("Initech").await;

    let by_name = app
        .get("/api/customers/?query=corp", &app.admin_token)
        .await;
    let by_abbreviation = app.get("/api/customers/?query=glx", &app.admin_token).await;
    let by_uuid = app
        .get(
            &format!("/api/customers/?query={}", globex.uuid()),
            &app.admin_token,
        )
        .await;

    assert_eq!(names(&by_name), vec!["Acme Corp"]);
    assert_eq!(names(&by_abbreviation), vec!["Globex"]);
    assert_eq!(names(&by_uuid), vec!["Globex"]);
    assert_eq!(by_uuid.count(), 1);
}

#[tokio::test]
async fn user_filters_narrow_the_list() {
    let app = spawn_app().await;
    for (username, email) in [("alice", "alice@acme.io"), ("bob", "bob@globex.io")] {
        let reply = app
            .post(
                "/api/users/",
                &app.admin_token,
                json!({"username": username, "email": email}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    }

    let by_email = app.get("/api/users/?email=ACME", &app.admin_token).await;
    let by_username = app.get("/api/users/?username=bob", &app.admin_token).await;
    let staff_only = app.get("/api/users/?is_staff=true", &app.admin_token).await;

    let usernames = |reply: &Reply| -> Vec<String> {
        reply
            .items()
            .iter()
            .map(|u| u["username"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(usernames(&by_email), vec!["alice"]);
    assert_eq!(usernames(&by_username), vec!["bob"]);
    assert_eq!(usernames(&staff_only), vec!["admin"]);
}
