//! An order's PDF attachment: upload, download, removal, and what is refused.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Reply, TestApp, TestUser};
use crate::order_fixture::{ORDERS, World, world};

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";
const BOUNDARY: &str = "ledger-test-boundary";

impl TestApp {
    /// `POST update_attachment` with a multipart body holding `parts` as
    /// (field name, optional file name, bytes).
    async fn upload_attachment(
        &self,
        order: &str,
        token: &str,
        parts: &[(&str, Option<&str>, &[u8])],
    ) -> Reply {
        let mut body = Vec::new();
        for (name, filename, bytes) in parts {
            body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
            match filename {
                Some(filename) => body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; \
                         filename=\"{filename}\"\r\nContent-Type: application/pdf\r\n\r\n"
                    )
                    .as_bytes(),
                ),
                None => body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                ),
            }
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        let response = self
            .client
            .post(format!(
                "{}{ORDERS}{order}/update_attachment/",
                self.address
            ))
            .header("Authorization", format!("Token {token}"))
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(body)
            .send()
            .await
            .expect("the request is answered");
        Self::reply(response).await
    }

    /// The attachment's bytes and content type.
    async fn download_attachment(&self, url: &str, token: &str) -> (StatusCode, String, Vec<u8>) {
        let response = self
            .client
            .get(url)
            .header("Authorization", format!("Token {token}"))
            .send()
            .await
            .expect("the request is answered");
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        (
            status,
            content_type,
            response.bytes().await.unwrap().to_vec(),
        )
    }
}

impl World {
    /// Uploads a small PDF as the order's attachment, as `user`.
    async fn attach_pdf(&self, order: &str, user: &TestUser) -> Reply {
        self.app
            .upload_attachment(order, &user.token, &[("attachment", Some("po.pdf"), PDF)])
            .await
    }
}

#[tokio::test]
async fn a_pdf_uploaded_to_a_pending_order_is_linked_from_the_order_and_served_back() {
    let w = world().await;
    let order = w.pending_consumer().await;

    let reply = w.attach_pdf(&order, &w.manager).await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let url = format!("{}{ORDERS}{order}/attachment/", w.app.address);
    assert_eq!(reply.body, json!({ "attachment": url }));
    let body = w.order(&order, &w.consumer_owner.token).await.body;
    assert_eq!(body["attachment"], url);
    let (status, content_type, bytes) = w.app.download_attachment(&url, &w.admin.token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "application/pdf");
    assert_eq!(bytes, PDF);
    let (status, _, _) = w.app.download_attachment(&url, &w.stranger.token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn attachments_are_stored_once_by_content_and_never_inside_an_event() {
    let w = world().await;
    let first = w.pending_consumer().await;
    let second = w.pending_consumer().await;

    for order in [&first, &second] {
        let reply = w.attach_pdf(order, &w.manager).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }

    assert_eq!(w.app.scalar_i64("SELECT count(*) FROM blobs").await, 1);
    let in_events = w
        .app
        .scalar_i64("SELECT count(*) FROM events WHERE payload::text LIKE '%PDF-1.4%'")
        .await;
    assert_eq!(in_events, 0);
    let added = w
        .app
        .scalar_i64("SELECT count(*) FROM events WHERE event_type = 'OrderAttachmentAdded'")
        .await;
    assert_eq!(added, 2);
}

#[tokio::test]
async fn a_file_that_is_not_a_pdf_is_refused_with_a_field_error() {
    let w = world().await;
    let order = w.pending_consumer().await;

    let reply = w
        .app
        .upload_attachment(
            &order,
            &w.manager.token,
            &[("attachment", Some("notes.pdf"), b"just some text")],
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!({"attachment": ["File type 'text/plain' is not supported. Allowed types are: application/pdf."]})
    );
    let body = w.order(&order, &w.manager.token).await.body;
    assert_eq!(body["attachment"], json!(null));
}

#[tokio::test]
async fn an_upload_without_a_file_says_no_file_was_submitted() {
    let w = world().await;
    let order = w.pending_consumer().await;

    let empty = w
        .app
        .upload_attachment(&order, &w.manager.token, &[("comment", None, b"hello")])
        .await;
    let no_body = w
        .action(&order, "update_attachment", &w.manager.token)
        .await;

    for reply in [empty, no_body] {
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
        assert_eq!(
            reply.body,
            json!({"attachment": ["No file was submitted."]})
        );
    }
}

#[tokio::test]
async fn a_pdf_of_a_few_megabytes_is_accepted_above_the_usual_body_limit() {
    let w = world().await;
    let order = w.pending_consumer().await;
    let mut scan = PDF.to_vec();
    scan.resize(3 * 1024 * 1024, b' ');

    let reply = w
        .app
        .upload_attachment(
            &order,
            &w.manager.token,
            &[("attachment", Some("scan.pdf"), &scan)],
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let size = w.app.scalar_i64("SELECT size FROM blobs").await;
    assert_eq!(size, 3 * 1024 * 1024);
}

#[tokio::test]
async fn an_attachment_larger_than_ten_megabytes_is_refused_with_413() {
    let w = world().await;
    let order = w.pending_consumer().await;
    let mut big = PDF.to_vec();
    big.resize(11 * 1024 * 1024, b' ');

    let reply = w
        .app
        .upload_attachment(
            &order,
            &w.manager.token,
            &[("attachment", Some("big.pdf"), &big)],
        )
        .await;

    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        reply.text
    );
}

#[tokio::test]
async fn attachments_change_only_while_the_order_is_pending() {
    let w = world().await;
    let order = w.pending_consumer().await;
    let reply = w
        .action(&order, "approve_by_consumer", &w.consumer_owner.token)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let reply = w
        .action(&order, "approve_by_provider", &w.provider_owner.token)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);

    let upload = w.attach_pdf(&order, &w.manager).await;
    let delete = w
        .action(&order, "delete_attachment", &w.manager.token)
        .await;

    for reply in [upload, delete] {
        assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
        assert_eq!(
            reply.body["detail"],
            "Valid states for operation: pending-project, pending-consumer, pending-provider."
        );
    }
}

#[tokio::test]
async fn deleting_an_attachment_answers_204_and_404_when_there_is_none() {
    let w = world().await;
    let order = w.pending_consumer().await;
    let reply = w.attach_pdf(&order, &w.manager).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);

    let first = w.action(&order, "delete_attachment", &w.admin.token).await;
    let second = w.action(&order, "delete_attachment", &w.admin.token).await;

    assert_eq!(first.status, StatusCode::NO_CONTENT, "{}", first.text);
    assert_eq!(second.status, StatusCode::NOT_FOUND, "{}", second.text);
    let body = w.order(&order, &w.manager.token).await.body;
    assert_eq!(body["attachment"], json!(null));
    let url = format!("{}{ORDERS}{order}/attachment/", w.app.address);
    let (status, _, _) = w.app.download_attachment(&url, &w.manager.token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn strangers_cannot_attach_files_to_orders_they_do_not_see() {
    let w = world().await;
    let order = w.pending_consumer().await;

    let reply = w.attach_pdf(&order, &w.stranger).await;

    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text);
}

#[tokio::test]
async fn an_offering_that_requires_a_purchase_order_is_approved_only_with_one_attached() {
    let w = world().await;
    let reply = w
        .app
        .post(
            &format!(
                "/api/marketplace-provider-offerings/{}/update_integration/",
                w.offering.uuid()
            ),
            &w.app.admin_token,
            json!({"plugin_options": {"require_purchase_order_upload": true}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let order = w.pending_consumer().await;

    let without = w
        .action(&order, "approve_by_consumer", &w.consumer_owner.token)
        .await;
    let upload = w.attach_pdf(&order, &w.manager).await;
    assert_eq!(upload.status, StatusCode::OK, "{}", upload.text);
    let with = w
        .action(&order, "approve_by_consumer", &w.consumer_owner.token)
        .await;

    assert_eq!(without.status, StatusCode::BAD_REQUEST, "{}", without.text);
    assert_eq!(
        without.body,
        json!(["Purchase order is required for approval."])
    );
    assert_eq!(with.status, StatusCode::OK, "{}", with.text);
    assert_eq!(
        w.order(&order, &w.manager.token).await.body["state"],
        "pending-provider"
    );
}

#[tokio::test]
async fn an_order_for_an_offering_that_requires_a_purchase_order_always_waits_for_the_consumer() {
    let w = world().await;
    let before = w.place(&w.consumer_owner, json!({})).await;
    let reply = w
        .app
        .post(
            &format!(
                "/api/marketplace-provider-offerings/{}/update_integration/",
                w.offering.uuid()
            ),
            &w.app.admin_token,
            json!({"plugin_options": {"require_purchase_order_upload": true}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);

    // The owner holds ORDER.APPROVE, which skips the consumer review otherwise.
    let after = w.place(&w.consumer_owner, json!({})).await;

    assert_ne!(before.body["state"], "pending-consumer", "{}", before.text);
    assert_eq!(after.body["state"], "pending-consumer", "{}", after.text);
}
