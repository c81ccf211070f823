//! HTML pages served by the ledger itself. Each page is static HTML, CSS and JavaScript
//! compiled into the binary; it signs in with an API token and talks to the JSON API from
//! the browser, so this module only serves files, under a Content-Security-Policy that
//! allows nothing but this origin's own scripts, styles and API.
//!
//! - `/admin/remote-sync/`: the Remote Offering Sync management page (Waldur's
//!   Administration → Marketplace → Remote Offering Sync), its files under `remote_sync/`.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

/// What every page and asset may load and do: its own scripts, styles and API, nothing
/// inline, never framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

const PAGE: &str = "/admin/remote-sync/";

/// A file of a page: its name under `assets/`, its content type and its bytes.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

/// The page's files: `app.js` is the module the HTML loads; it imports the others.
const REMOTE_SYNC_ASSETS: &[Asset] = &[
    Asset {
        name: "app.js",
        content_type: JAVASCRIPT,
        body: include_bytes!("remote_sync/app.js"),
    },
    Asset {
        name: "api.js",
        content_type: JAVASCRIPT,
        body: include_bytes!("remote_sync/api.js"),
    },
    Asset {
        name: "dom.js",
        content_type: JAVASCRIPT,
        body: include_bytes!("remote_sync/dom.js"),
    },
    Asset {
        name: "results.js",
        content_type: JAVASCRIPT,
        body: include_bytes!("remote_sync/results.js"),
    },
    Asset {
        name: "sync_form.js",
        content_type: JAVASCRIPT,
        body: include_bytes!("remote_sync/sync_form.js"),
    },
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("remote_sync/app.css"),
    },
    Asset {
        name: "icon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("remote_sync/icon.svg"),
    },
];

/// The pages' routes; they need no state, so they merge into any router.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/admin/remote-sync",
            get(|| async { Redirect::permanent(PAGE) }),
        )
        .route(PAGE, get(remote_sync_page))
        .route("/admin/remote-sync/assets/{name}", get(remote_sync_asset))
}

async fn remote_sync_page() -> Response {
    // The HTML names the assets; a stale copy must never outlive a new binary.
    serve(
        "text/html; charset=utf-8",
        "no-store",
        include_bytes!("remote_sync/index.html"),
    )
}

async fn remote_sync_asset(Path(name): Path<String>) -> Response {
    match REMOTE_SYNC_ASSETS.iter().find(|asset| asset.name == name) {
        Some(asset) => serve(asset.content_type, "no-cache", asset.body),
        None => {
            let mut response = (StatusCode::NOT_FOUND, "Not found.").into_response();
            secure(&mut response, "no-store");
            response
        }
    }
}

fn serve(content_type: &'static str, cache: &'static str, body: &'static [u8]) -> Response {
    let mut response = ([(header::CONTENT_TYPE, content_type)], body).into_response();
    secure(&mut response, cache);
    response
}

fn secure(response: &mut Response, cache: &'static str) {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
}
