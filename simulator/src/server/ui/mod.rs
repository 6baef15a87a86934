//! The emulator page: the mini-program side of `my.getPhoneNumber`, in a browser.
//!
//! `GET /` serves `index.html`; `GET /ui/{file}` serves its script, style sheet and icon. Every
//! byte is embedded in the binary (no CDN, no network, no build step: plain HTML, CSS and
//! JavaScript). The page talks only to the simulator it came from: the JSAPI emulation routes,
//! the admin API, and `POST /__forward` (the page's `my.request` to the merchant).
//!
//! Every answer carries a strict Content-Security-Policy: scripts, styles, images and requests
//! from this origin only, no inline code, no framing.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// The Content-Security-Policy sent with the page and its assets.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// One embedded file of the page.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const INDEX: Asset = Asset {
    name: "index.html",
    content_type: "text/html; charset=utf-8",
    body: include_str!("index.html"),
};

/// The assets served under `/ui/`.
const ASSETS: &[Asset] = &[
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("app.js"),
    },
    Asset {
        name: "envelope.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("envelope.js"),
    },
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("app.css"),
    },
    Asset {
        name: "icon.svg",
        content_type: "image/svg+xml",
        body: include_str!("icon.svg"),
    },
];

/// The names served under `/ui/` (the OpenAPI document lists them).
pub(crate) fn asset_names() -> Vec<&'static str> {
    ASSETS.iter().map(|a| a.name).collect()
}

/// The router serving the page (`GET /`) and its assets (`GET /ui/{file}`). Stateless.
pub(crate) fn router() -> Router {
    Router::new()
        .route("/", get(|| async { serve(&INDEX) }))
        .route("/ui/{file}", get(asset))
}

async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == file) {
        Some(a) => serve(a),
        None => {
            let names: Vec<&str> = ASSETS.iter().map(|a| a.name).collect();
            let body = serde_json::json!({
                "error": "not_found",
                "message": format!("no page asset named {file:?}; the assets are {}", names.join(", ")),
                "field": "file",
            });
            (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
        }
    }
}

fn serve(a: &Asset) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(a.content_type),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CONTENT_SECURITY_POLICY),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                HeaderName::from_static("cross-origin-resource-policy"),
                HeaderValue::from_static("same-origin"),
            ),
        ],
        a.body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn get_path(path: &str) -> (StatusCode, axum::http::HeaderMap, String) {
        let resp = router()
            .oneshot(Request::get(path).body(Body::empty()).expect("request"))
            .await
            .expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .expect("body");
        (
            status,
            headers,
            String::from_utf8(bytes.to_vec()).expect("utf-8"),
        )
    }

    #[tokio::test]
    async fn index_is_html_with_a_strict_policy() {
        let (status, headers, body) = get_path("/").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(
            headers[header::CONTENT_SECURITY_POLICY],
            CONTENT_SECURITY_POLICY
        );
        assert!(body.contains("授权手机号"));
        assert!(body.contains("/ui/app.js"));
    }

    #[tokio::test]
    async fn every_asset_is_served_with_its_type() {
        for a in ASSETS {
            let (status, headers, body) = get_path(&format!("/ui/{}", a.name)).await;
            assert_eq!(status, StatusCode::OK, "{}", a.name);
            assert_eq!(headers[header::CONTENT_TYPE], a.content_type, "{}", a.name);
            assert!(headers.contains_key(header::CONTENT_SECURITY_POLICY));
            assert_eq!(body, a.body);
        }
    }

    #[tokio::test]
    async fn unknown_asset_is_a_json_404() {
        let (status, _, body) = get_path("/ui/nope.js").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let json: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(json["error"], "not_found");
        assert_eq!(json["field"], "file");
    }

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        // No CDN, no network: every src/href in the page is a same-origin path, and no inline
        // script or style (the CSP would block it anyway).
        let html = INDEX.body;
        for attr in ["src=\"", "href=\""] {
            for part in html.split(attr).skip(1) {
                let target = part.split('"').next().unwrap_or("");
                assert!(
                    target.starts_with('/') || target.starts_with('#'),
                    "{attr}{target} is not same-origin"
                );
                assert!(!target.starts_with("//"), "{target} is protocol-relative");
            }
        }
        assert!(!html.contains("<style"), "inline style");
        assert!(!html.contains(" style=\""), "inline style attribute");
        for a in ASSETS.iter().chain(std::iter::once(&INDEX)) {
            assert!(
                !a.body.contains("https://"),
                "{} names a remote URL",
                a.name
            );
            for rest in a.body.split("http://").skip(1) {
                assert!(
                    ["127.0.0.1", "localhost", "www.w3.org/2000/svg"]
                        .iter()
                        .any(|ok| rest.starts_with(ok)),
                    "{} names a remote URL: http://{}",
                    a.name,
                    &rest[..rest.len().min(40)]
                );
            }
        }
    }
}
