//! The Remote Offering Sync page: served without credentials as files compiled into the
//! binary, each with its content type, under a Content-Security-Policy that allows only
//! this origin, and with no inline script or style that the policy would block.

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::helpers::{TestApp, spawn_app};

const PAGE: &str = "/admin/remote-sync/";

const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

struct Fetched {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

impl Fetched {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("a {name} header"))
    }
}

/// A GET without credentials that does not follow redirects.
async fn fetch(app: &TestApp, path: &str) -> Fetched {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = client
        .get(format!("{}{path}", app.address))
        .send()
        .await
        .expect("the request is answered");
    Fetched {
        status: response.status(),
        headers: response.headers().clone(),
        text: response.text().await.expect("a body"),
    }
}

/// The values of every `attribute="…"` in the HTML.
fn attribute_values<'a>(html: &'a str, attribute: &str) -> Vec<&'a str> {
    let needle = format!(" {attribute}=\"");
    html.match_indices(&needle)
        .map(|(at, _)| {
            let rest = &html[at + needle.len()..];
            &rest[..rest.find('"').expect("a closing quote")]
        })
        .collect()
}

#[tokio::test]
async fn the_page_is_served_to_anyone_with_its_policy_and_is_never_cached() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let page = fetch(&app, PAGE).await;

    // Assert
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
    assert_eq!(page.header("content-security-policy"), POLICY);
    assert_eq!(page.header("x-content-type-options"), "nosniff");
    assert_eq!(page.header("cache-control"), "no-store");
    assert!(
        page.text.contains("<title>Remote Offering Sync"),
        "{}",
        page.text
    );
}

#[tokio::test]
async fn the_page_has_no_inline_script_style_or_handlers() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let page = fetch(&app, PAGE).await;

    // Assert
    let html = page.text.to_lowercase();
    let scripts: Vec<&str> = html
        .match_indices("<script")
        .map(|(at, _)| &html[at..])
        .collect();
    assert!(!scripts.is_empty());
    for script in scripts {
        let tag = &script[..script.find('>').expect("a closed tag") + 1];
        assert!(tag.contains(" src=\""), "an inline script: {tag}");
        assert!(
            script[tag.len()..].starts_with("</script>"),
            "a script with content: {tag}"
        );
    }
    assert!(!html.contains("style="), "a style attribute");
    assert!(!html.contains("<style"), "a style element");
    assert!(!html.contains("javascript:"), "a javascript: URL");
    for handler in [
        "onclick", "onload", "onerror", "onsubmit", "onchange", "oninput",
    ] {
        assert!(
            !html.contains(&format!(" {handler}=")),
            "an inline {handler}"
        );
    }
}

#[tokio::test]
async fn every_file_the_page_names_is_served_with_its_content_type_and_policy() {
    // Arrange
    let app = spawn_app().await;
    let page = fetch(&app, PAGE).await;
    let mut assets: Vec<&str> = attribute_values(&page.text, "src");
    assets.extend(attribute_values(&page.text, "href"));
    assets.retain(|path| !path.starts_with('#'));
    assets.sort_unstable();
    assets.dedup();
    assert_eq!(
        assets,
        ["assets/app.css", "assets/app.js", "assets/icon.svg"],
        "the page names only its own files, by relative paths"
    );

    for asset in assets {
        // Act
        let file = fetch(&app, &format!("{PAGE}{asset}")).await;

        // Assert
        let expected = match asset.rsplit('.').next() {
            Some("js") => "text/javascript; charset=utf-8",
            Some("css") => "text/css; charset=utf-8",
            Some("svg") => "image/svg+xml",
            other => panic!("an unexpected kind of file: {other:?}"),
        };
        assert_eq!(file.status, StatusCode::OK, "{asset}");
        assert_eq!(file.header("content-type"), expected, "{asset}");
        assert_eq!(file.header("content-security-policy"), POLICY, "{asset}");
        assert_eq!(file.header("x-content-type-options"), "nosniff", "{asset}");
        assert!(!file.text.is_empty(), "{asset}");
    }
}

/// The modules a script imports (`from "./name.js"`).
fn imports(script: &str) -> Vec<String> {
    script
        .match_indices("from \"./")
        .map(|(at, needle)| {
            let rest = &script[at + needle.len()..];
            rest[..rest.find('"').expect("a closing quote")].to_string()
        })
        .collect()
}

#[tokio::test]
async fn every_module_the_script_imports_is_served_and_reaches_no_other_origin() {
    // Arrange
    let app = spawn_app().await;
    let mut pending = vec!["app.js".to_string()];
    let mut seen: Vec<String> = Vec::new();
    let mut sources = String::new();

    // Act
    while let Some(module) = pending.pop() {
        if seen.contains(&module) {
            continue;
        }
        let script = fetch(&app, &format!("{PAGE}assets/{module}")).await;

        // Assert
        assert_eq!(script.status, StatusCode::OK, "{module}");
        assert_eq!(
            script.header("content-type"),
            "text/javascript; charset=utf-8",
            "{module}"
        );
        assert_eq!(script.header("content-security-policy"), POLICY, "{module}");
        assert!(
            !script.text.contains("://"),
            "an absolute address in {module}"
        );
        assert!(!script.text.contains("eval("), "eval in {module}");
        pending.extend(imports(&script.text));
        sources.push_str(&script.text);
        seen.push(module);
    }
    let style = fetch(&app, &format!("{PAGE}assets/app.css")).await;

    // Assert
    assert!(seen.len() > 1, "app.js imports its parts: {seen:?}");
    assert!(sources.contains("\"/api/marketplace-remote-synchronisations/\""));
    assert!(
        !style.text.contains("://"),
        "an absolute address in app.css"
    );
    assert!(!style.text.contains("@import"), "an import in app.css");
}

#[tokio::test]
async fn the_page_without_its_slash_redirects_and_an_unknown_file_is_a_404() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let bare = fetch(&app, "/admin/remote-sync").await;
    let unknown = fetch(&app, &format!("{PAGE}assets/missing.js")).await;

    // Assert
    assert_eq!(bare.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(bare.header("location"), PAGE);
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.header("content-security-policy"), POLICY);
}
