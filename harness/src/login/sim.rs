//! The simulator the login cases drive: the user's side (`my.getAuthCode`,
//! `my.getPhoneNumber`) and its admin API (faults, clock, journal), over HTTP, whether it is the
//! one this run started in-process ([`Embedded`], `--gateway-listen`) or a running `alipay-sim
//! serve` (`--simulator URL`).

use std::net::SocketAddr;
use std::time::Duration;

use alipay_sim::{Catalogue, KeySet};
use reqwest::{Method, Url};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A simulator call failed: the simulator is unreachable or answered something unexpected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("simulator {base}: {what}: {message}")]
pub struct SimError {
    /// The simulator's base URL.
    pub base: String,
    /// The call, e.g. `POST /jsapi/apps/demo/users/alice/getAuthCode`.
    pub what: String,
    /// What went wrong.
    pub message: String,
}

/// A user as the simulator's admin API has them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimUser {
    /// The user's name in the simulator (`alice`).
    pub name: String,
    /// `alipay_user_id` (2088…).
    pub user_id: Option<String>,
    /// `open_id` in the app.
    pub open_id: Option<String>,
    /// The bound mobile, if any.
    pub mobile: Option<String>,
}

impl SimUser {
    /// The ids the gateway may name the user by.
    pub fn ids(&self) -> Vec<String> {
        self.user_id
            .iter()
            .chain(self.open_id.iter())
            .cloned()
            .collect()
    }
}

/// An HTTP client of one simulator, for one app.
#[derive(Debug, Clone)]
pub struct Simulator {
    base: Url,
    http: reqwest::Client,
}

impl Simulator {
    /// A client of the simulator at `base` (e.g. `http://127.0.0.1:8780/`).
    pub fn new(base: Url) -> Result<Self, SimError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .no_proxy()
            .build()
            .map_err(|e| SimError {
                base: base.to_string(),
                what: "HTTP client".into(),
                message: e.to_string(),
            })?;
        Ok(Self { base, http })
    }

    /// The base URL.
    pub fn base(&self) -> &Url {
        &self.base
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, SimError> {
        let what = format!("{method} {path}");
        let err = |message: String| SimError {
            base: self.base.to_string(),
            what: what.clone(),
            message,
        };
        let url = self
            .base
            .join(path.trim_start_matches('/'))
            .map_err(|e| err(e.to_string()))?;
        let mut req = self.http.request(method.clone(), url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req
            .send()
            .await
            .map_err(|e| err(alipay_sim::chain_line(&e)))?;
        let status = res.status();
        let text = res.text().await.map_err(|e| err(e.to_string()))?;
        if !status.is_success() {
            let excerpt: String = text.chars().take(200).collect();
            return Err(err(format!("HTTP {status}: {excerpt}")));
        }
        if text.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| err(format!("the answer is not JSON: {e}")))
    }

    /// A user of `app` (`GET /__admin/apps/{app}/users/{user}`).
    pub async fn user(&self, app: &str, user: &str) -> Result<SimUser, SimError> {
        let v = self
            .call(
                Method::GET,
                &format!("/__admin/apps/{app}/users/{user}"),
                None,
            )
            .await?;
        let s = |k: &str| v[k].as_str().filter(|s| !s.is_empty()).map(str::to_string);
        Ok(SimUser {
            name: user.to_string(),
            user_id: s("alipay_user_id"),
            open_id: s("open_id"),
            mobile: s("mobile"),
        })
    }

    /// `my.getAuthCode` for `user` of `app` with `scope` (`auth_base` or `auth_user`), consented:
    /// the `authCode`.
    pub async fn auth_code(&self, app: &str, user: &str, scope: &str) -> Result<String, SimError> {
        let path = format!("/jsapi/apps/{app}/users/{user}/getAuthCode");
        let v = self
            .call(Method::POST, &path, Some(json!({ "scopes": scope })))
            .await?;
        v["authCode"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| SimError {
                base: self.base.to_string(),
                what: format!("POST {path}"),
                message: format!("no authCode in the answer: {v}"),
            })
    }

    /// `my.getPhoneNumber` for `user` of `app`: `res.response`, the envelope string.
    pub async fn envelope(&self, app: &str, user: &str) -> Result<String, SimError> {
        let path = format!("/jsapi/apps/{app}/users/{user}/getPhoneNumber");
        let v = self.call(Method::POST, &path, None).await?;
        v["response"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| SimError {
                base: self.base.to_string(),
                what: format!("POST {path}"),
                message: format!("no response string in the answer: {v}"),
            })
    }

    /// The fault settings (`GET /__admin/faults`).
    pub async fn faults(&self) -> Result<Value, SimError> {
        self.call(Method::GET, "/__admin/faults", None).await
    }

    /// Replaces the fault settings (`PUT /__admin/faults`).
    pub async fn set_faults(&self, faults: Value) -> Result<(), SimError> {
        self.call(Method::PUT, "/__admin/faults", Some(faults))
            .await
            .map(drop)
    }

    /// The app's auth code lifetime in seconds (`GET /__admin/apps/{app}`, `login`).
    pub async fn code_lifetime_secs(&self, app: &str) -> Result<u64, SimError> {
        let v = self
            .call(Method::GET, &format!("/__admin/apps/{app}"), None)
            .await?;
        v["login"]["code_lifetime_secs"]
            .as_u64()
            .ok_or_else(|| SimError {
                base: self.base.to_string(),
                what: format!("GET /__admin/apps/{app}"),
                message: "no login.code_lifetime_secs in the answer".into(),
            })
    }

    /// Moves the simulator's clock forward (`POST /__admin/clock`).
    pub async fn advance_clock(&self, secs: u64) -> Result<(), SimError> {
        self.call(
            Method::POST,
            "/__admin/clock",
            Some(json!({ "advance_secs": secs })),
        )
        .await
        .map(drop)
    }

    /// The app ids (`GET /__admin/apps`).
    pub async fn apps(&self) -> Result<Vec<String>, SimError> {
        let v = self.call(Method::GET, "/__admin/apps", None).await?;
        let list = v.as_array().cloned().unwrap_or_default();
        Ok(list
            .iter()
            .filter_map(|a| a["app_id"].as_str().or(a.as_str()).map(str::to_string))
            .collect())
    }

    /// The journal entries after `since` (`GET /__admin/journal?since=N`).
    pub async fn journal(&self, since: u64) -> Result<Vec<Value>, SimError> {
        let v = self
            .call(
                Method::GET,
                &format!("/__admin/journal?since={since}"),
                None,
            )
            .await?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }

    /// The sequence number of the newest journal entry (0 when it is empty).
    pub async fn journal_head(&self) -> Result<u64, SimError> {
        Ok(self
            .journal(0)
            .await?
            .iter()
            .filter_map(|e| e["seq"].as_u64())
            .max()
            .unwrap_or(0))
    }
}

/// Whether a journal entry is a call of `alipay.user.info.share` (v2: its answer key; v3: the
/// path's answer, a profile or the scope refusal).
pub fn is_profile_read(entry: &Value) -> bool {
    match entry["api"].as_str() {
        Some("gateway") => entry["answer"]
            .get("alipay_user_info_share_response")
            .is_some(),
        Some("gateway.v3") => {
            let a = &entry["answer"];
            a.get("nick_name").is_some()
                || a["code"].as_str() == Some("insufficient-user-permissions")
        }
        _ => false,
    }
}

/// A simulator running in this process (`--gateway-listen`), stopped when dropped or by
/// [`Embedded::shutdown`].
#[derive(Debug)]
pub struct Embedded {
    /// The address it listens on.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Embedded {
    /// Starts the simulator (default apps and users, `keys`) on `addr`.
    pub async fn start(addr: SocketAddr, keys: KeySet) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let router = alipay_sim::server::app(alipay_sim::server::AppState::new(
            keys,
            Catalogue::embedded(),
        ));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(alipay_sim::server::serve(listener, router, async {
            let _ = stopped.await;
        }));
        Ok(Self {
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The base URL, `http://ADDR/`.
    pub fn url(&self) -> Url {
        Url::parse(&format!("http://{}/", self.addr)).expect("a socket address makes a URL")
    }

    /// Stops it and waits for requests in flight.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
