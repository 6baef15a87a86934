//! What every case of one run shares ([`Context`]), and the helpers that turn an exchange into
//! report fields (a redacted body excerpt, the request summary). Used by [`crate::runner`] and
//! [`crate::behaviour`], which do not depend on each other's internals.

use std::sync::Arc;

use alipay_sim::KeySet;
use reqwest::Url;

use crate::case::EndpointProfile;
use crate::delivery::{Delivery, PreparedRequest};
use crate::judge::Judge;
use crate::leak::Views;
use crate::transport::HttpClient;
use crate::verdict::RequestInfo;

/// Characters of the answer body kept in reports.
pub const EXCERPT_CHARS: usize = 300;

/// Everything shared by the cases of one run.
#[derive(Debug)]
pub struct Context {
    /// The endpoint URL.
    pub endpoint: Url,
    /// The HTTP client.
    pub client: HttpClient,
    /// The judge (contract + key material).
    pub judge: Judge,
    /// How envelopes are delivered.
    pub delivery: Delivery,
    /// The endpoint's declared configuration.
    pub profile: EndpointProfile,
    /// The key set envelopes are sealed with.
    pub keys: Arc<KeySet>,
}

/// A body excerpt for reports: lossy UTF-8, key material redacted, at most [`EXCERPT_CHARS`].
/// When key material is still readable after redaction (escaped, encoded, split), the excerpt
/// is withheld: a report must never carry a key.
pub fn excerpt(judge: &Judge, body: &[u8]) -> String {
    let km = judge.key_material();
    let text = km.redact(&String::from_utf8_lossy(body));
    if let Some(what) = km.found_in(&Views::of(&text)) {
        return format!(
            "[excerpt withheld: the answer contains {what} in an encoded or escaped form]"
        );
    }
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

/// The request summary for reports.
pub fn request_info(req: &PreparedRequest) -> RequestInfo {
    RequestInfo {
        content_type: req.content_type.clone(),
        body_bytes: req.body.len(),
    }
}
