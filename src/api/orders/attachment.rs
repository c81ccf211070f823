//! An order's attachment (a purchase order, as a PDF): `update_attachment` uploads it as
//! multipart/form-data, `delete_attachment` removes it and `GET …/attachment/` serves it.
//!
//! The bytes are stored once per content in the `blobs` table, keyed by their sha256; the
//! order's event carries only the hash, the file name and the size, so the log stays small
//! and rebuilding the read models needs nothing but the events and the blobs.
//!
//! Seeing the order is the only permission these actions ask for, as in Waldur.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::api::ApiState;
use crate::api::auth::Caller;
use crate::api::error::ApiError;
use crate::api::links::{Links, hex};
use crate::domain::order::{Attachment, OrderCommand, OrderState};
use crate::store::blobs::{self, Blob};

use super::actions::{load, run};

const PDF: &str = "application/pdf";

/// The largest attachment upload: above the API's general body limit, since scanned
/// purchase orders run to a few megabytes.
pub const MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;

/// The states in which an order's attachment may change.
const EDITABLE: [OrderState; 3] = [
    OrderState::PendingProject,
    OrderState::PendingConsumer,
    OrderState::PendingProvider,
];

pub fn router() -> Router<Arc<ApiState>> {
    let action = |name: &str| format!("/api/marketplace-orders/{{uuid}}/{name}/");
    Router::new()
        .route(
            &action("update_attachment"),
            post(update_attachment).layer(DefaultBodyLimit::max(MAX_ATTACHMENT_BYTES)),
        )
        .route(&action("delete_attachment"), post(delete_attachment))
        .route(&action("attachment"), get(download))
}

/// Where an order's attachment is served.
pub fn attachment_url(links: &Links, order: uuid::Uuid) -> String {
    links.absolute(&format!(
        "/api/marketplace-orders/{}/attachment/",
        hex(order)
    ))
}

/// An uploaded file: its name and bytes.
struct Upload {
    filename: String,
    bytes: Bytes,
}

/// The `attachment` file of a multipart body, with DRF's messages for what is not one.
async fn read_upload(multipart: Result<Multipart, MultipartRejection>) -> Result<Upload, ApiError> {
    let no_file = || ApiError::field("attachment", "No file was submitted.");
    // A body that is not multipart carries no file, as DRF sees it.
    let Ok(mut multipart) = multipart else {
        return Err(no_file());
    };
    loop {
        let field = multipart.next_field().await.map_err(multipart_error)?;
        let Some(field) = field else {
            return Err(no_file());
        };
        if field.name() != Some("attachment") {
            continue;
        }
        let filename = field.file_name().map(str::to_string);
        let bytes = field.bytes().await.map_err(multipart_error)?;
        let Some(filename) = filename else {
            return Err(ApiError::field(
                "attachment",
                "The submitted data was not a file. Check the encoding type on the form.",
            ));
        };
        if filename.is_empty() && bytes.is_empty() {
            return Err(no_file());
        }
        if bytes.is_empty() {
            return Err(ApiError::field(
                "attachment",
                "The submitted file is empty.",
            ));
        }
        return Ok(Upload { filename, bytes });
    }
}

fn multipart_error(err: axum::extract::multipart::MultipartError) -> ApiError {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge
    } else {
        ApiError::BadRequest(format!("Multipart form parse error - {}", err.body_text()))
    }
}

/// The content type the bytes show, as a magic-number sniffer would name it.
fn detected_type(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(b"%PDF-") {
        PDF
    } else if std::str::from_utf8(bytes).is_ok() {
        "text/plain"
    } else {
        "application/octet-stream"
    }
}

/// Waldur's `FileTypeValidator(allowed_types=["application/pdf"])`: judged by content.
fn require_pdf(upload: &Upload) -> Result<(), ApiError> {
    let detected = detected_type(&upload.bytes);
    if detected == PDF {
        Ok(())
    } else {
        Err(ApiError::field(
            "attachment",
            format!("File type '{detected}' is not supported. Allowed types are: {PDF}."),
        ))
    }
}

async fn update_attachment(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Path(raw_uuid): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    let target = load(&state, &caller, &raw_uuid).await?;
    target.require_state(&EDITABLE)?;
    let upload = read_upload(multipart).await?;
    require_pdf(&upload)?;
    let sha256 = blobs::put(&state.ledger.pool, PDF, &upload.bytes).await?;
    let ctx = caller.ctx();
    let attachment = Attachment {
        sha256,
        filename: file_name(&upload.filename),
        size: upload.bytes.len() as i64,
    };
    let command = OrderCommand::AttachFile {
        attachment,
        at: ctx.now,
    };
    run(&state, &target, command, &ctx).await?;
    Ok(Json(json!({ "attachment": attachment_url(&links, target.uuid) })).into_response())
}

/// The last path segment of a client's file name, at most 255 characters.
fn file_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    base.chars().take(255).collect()
}

async fn delete_attachment(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
) -> Result<Response, ApiError> {
    let target = load(&state, &caller, &raw_uuid).await?;
    target.require_state(&EDITABLE)?;
    if target.order.attachment.is_none() {
        return Err(ApiError::NotFoundDetail("Not found.".to_string()));
    }
    let ctx = caller.ctx();
    run(
        &state,
        &target,
        OrderCommand::RemoveAttachment { at: ctx.now },
        &ctx,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /{uuid}/attachment/`: the attachment's bytes, to those who see the order.
async fn download(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
) -> Result<Response, ApiError> {
    let target = load(&state, &caller, &raw_uuid).await?;
    let Some(attachment) = &target.order.attachment else {
        return Err(ApiError::NotFoundDetail("Not found.".to_string()));
    };
    let blob = blobs::get(&state.ledger.pool, &attachment.sha256).await?;
    let Some(Blob {
        content_type,
        content,
    }) = blob
    else {
        return Err(ApiError::internal(anyhow::anyhow!(
            "the blob {} of order {} is missing",
            attachment.sha256,
            target.uuid
        )));
    };
    let mut response = content.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&content_type).unwrap_or(HeaderValue::from_static(PDF)),
    );
    let safe: String = attachment
        .filename
        .chars()
        .filter(|c| c.is_ascii_graphic() && *c != '"' && *c != '\\' || *c == ' ')
        .collect();
    if let Ok(value) = HeaderValue::from_str(&format!("inline; filename=\"{safe}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
