//! The journal of JSAPI calls and what was answered (WireMock's request journal, moto's
//! recorder): bounded to the last [`JOURNAL_CAPACITY`] entries.

use std::collections::VecDeque;
use std::sync::Mutex;

use axum::body::Bytes;
use serde::Serialize;

use super::answer::Callback;
use super::faults::Fired;
use crate::model::scenario::Expectation;

/// How many entries the journal keeps; older ones are dropped first.
pub(crate) const JOURNAL_CAPACITY: usize = 1000;

/// The API a journal entry records (its `api` member).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) enum Api {
    /// `my.getPhoneNumber`, by user or by forced scenario.
    #[serde(rename = "getPhoneNumber")]
    GetPhoneNumber,
    /// `my.getRunData`, by user or by forced scenario.
    #[serde(rename = "getRunData")]
    GetRunData,
    /// The authorisation button.
    #[serde(rename = "authorize")]
    Authorize,
    /// `my.getSetting`.
    #[serde(rename = "getSetting")]
    GetSetting,
    /// `my.getAuthCode`.
    #[serde(rename = "getAuthCode")]
    GetAuthCode,
    /// The v2 OpenAPI gateway (`/gateway.do`).
    #[serde(rename = "gateway")]
    Gateway,
    /// The v3 OpenAPI paths (`/v3/alipay/...`).
    #[serde(rename = "gateway.v3")]
    GatewayV3,
}

impl Api {
    /// Every API, in the order the document lists them.
    pub(crate) const ALL: [Api; 7] = [
        Api::GetPhoneNumber,
        Api::GetRunData,
        Api::Authorize,
        Api::GetSetting,
        Api::GetAuthCode,
        Api::Gateway,
        Api::GatewayV3,
    ];
}

/// One JSAPI call.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The request id (the `X-Request-Id` header).
    pub(crate) request_id: String,
    /// The API called.
    pub(crate) api: Api,
    /// The app, if the route names one.
    pub(crate) app_id: Option<String>,
    /// The user, if the route names one.
    pub(crate) user_id: Option<String>,
    /// The forced catalogue scenario, if any.
    pub(crate) scenario: Option<String>,
    /// The callback answered.
    pub(crate) callback: Callback,
    /// What a correct merchant concludes from a success answer.
    pub(crate) expected: Option<Expectation>,
    /// Faults that fired.
    pub(crate) faults: Vec<Fired>,
    /// The exact body sent (empty when the connection was dropped).
    pub(crate) answer: Bytes,
}

#[derive(Serialize)]
struct EntryJson<'a> {
    seq: u64,
    request_id: &'a str,
    api: Api,
    app_id: Option<&'a str>,
    user_id: Option<&'a str>,
    scenario: Option<&'a str>,
    callback: &'a str,
    outcome: Option<String>,
    code: Option<&'a str>,
    sub_code: Option<&'a str>,
    faults: &'a [Fired],
    answer: serde_json::Value,
}

/// The bounded journal.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    inner: Mutex<(u64, VecDeque<(u64, Entry)>)>,
}

impl Journal {
    /// Appends an entry, dropping the oldest beyond capacity; returns its sequence number.
    pub(crate) fn record(&self, entry: Entry) -> u64 {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.0 += 1;
        let seq = g.0;
        if g.1.len() == JOURNAL_CAPACITY {
            g.1.pop_front();
        }
        g.1.push_back((seq, entry));
        seq
    }

    /// Clears the entries (sequence numbers keep counting).
    pub(crate) fn clear(&self) {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .1
            .clear();
    }

    /// The entries with a sequence number above `since`, oldest first, as JSON.
    pub(crate) fn to_json(&self, since: u64) -> serde_json::Value {
        let entries: Vec<(u64, Entry)> = {
            let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            g.1.iter().filter(|(s, _)| *s > since).cloned().collect()
        };
        serde_json::Value::Array(
            entries
                .iter()
                .map(|(seq, e)| {
                    let answer = if e.answer.is_empty() {
                        serde_json::Value::Null
                    } else {
                        serde_json::from_slice(&e.answer).unwrap_or_else(|_| {
                            serde_json::Value::String(String::from_utf8_lossy(&e.answer).into())
                        })
                    };
                    serde_json::to_value(EntryJson {
                        seq: *seq,
                        request_id: &e.request_id,
                        api: e.api,
                        app_id: e.app_id.as_deref(),
                        user_id: e.user_id.as_deref(),
                        scenario: e.scenario.as_deref(),
                        callback: e.callback.as_str(),
                        outcome: e.expected.as_ref().map(|x| x.outcome.to_string()),
                        // Successes carry 10000; a rejected (tampered) answer carries no code.
                        code: e.expected.as_ref().and_then(|x| {
                            x.code.as_deref().or(matches!(
                                x.outcome,
                                crate::model::scenario::Outcome::Accept
                                    | crate::model::scenario::Outcome::NoMobile
                            )
                            .then_some("10000"))
                        }),
                        sub_code: e.expected.as_ref().and_then(|x| x.sub_code.as_deref()),
                        faults: &e.faults,
                        answer,
                    })
                    .unwrap_or_default()
                })
                .collect(),
        )
    }

    /// The number of entries held.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).1.len()
    }

    /// True when no entry is held.
    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(i: usize) -> Entry {
        Entry {
            request_id: format!("r{i}"),
            api: Api::GetSetting,
            app_id: None,
            user_id: None,
            scenario: None,
            callback: Callback::Success,
            expected: None,
            faults: vec![],
            answer: Bytes::from_static(b"{}"),
        }
    }

    #[test]
    fn api_names_are_the_wire_strings() {
        let names: Vec<serde_json::Value> = Api::ALL
            .iter()
            .map(|a| serde_json::to_value(a).unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "getPhoneNumber",
                "getRunData",
                "authorize",
                "getSetting",
                "getAuthCode",
                "gateway",
                "gateway.v3"
            ]
        );
    }

    #[test]
    fn the_journal_keeps_the_last_entries() {
        let j = Journal::default();
        for i in 0..JOURNAL_CAPACITY + 5 {
            j.record(entry(i));
        }
        assert_eq!(j.len(), JOURNAL_CAPACITY);
        let v = j.to_json(0);
        assert_eq!(v[0]["seq"], 6);
        assert_eq!(v[0]["request_id"], "r5");
        assert_eq!(
            j.to_json(JOURNAL_CAPACITY as u64 + 3)
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(v[0]["api"], "getSetting");
        j.clear();
        assert!(j.is_empty());
        assert_eq!(j.record(entry(0)), JOURNAL_CAPACITY as u64 + 6);
    }
}
