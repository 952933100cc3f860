//! Validators kept for GET responses, so later GETs are conditional and a 304 can be
//! answered from the stored copy (RFC 9111 revalidation; a private cache, always
//! revalidated, never served without asking).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};

/// Marks a response that was answered from the stored copy after a 304.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revalidated;

/// A stored response and the request headers it varies on.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    vary: Vec<(HeaderName, Option<HeaderValue>)>,
}

impl Stored {
    fn etag(&self) -> Option<&HeaderValue> {
        self.headers.get(header::ETAG)
    }

    fn last_modified(&self) -> Option<&HeaderValue> {
        self.headers.get(header::LAST_MODIFIED)
    }
}

/// At most `max_entries` responses of at most `max_body` bytes each.
#[derive(Debug)]
pub(crate) struct Cache {
    max_entries: usize,
    pub max_body: usize,
    inner: Mutex<(HashMap<String, Stored>, VecDeque<String>)>,
}

fn has_directive(headers: &HeaderMap, name: &str) -> bool {
    headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',').any(|d| {
                d.trim()
                    .split('=')
                    .next()
                    .is_some_and(|k| k.trim().eq_ignore_ascii_case(name))
            })
        })
}

impl Cache {
    pub(crate) fn new(max_entries: usize, max_body: usize) -> Self {
        Cache {
            max_entries,
            max_body,
            inner: Mutex::new((HashMap::new(), VecDeque::new())),
        }
    }

    /// Whether nothing is stored (then no request needs validators).
    pub(crate) fn is_empty(&self) -> bool {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .0
            .is_empty()
    }

    /// Whether a response to a GET may be stored: a 200 with a validator, no `no-store`,
    /// no `Vary: *`, and a declared length within the limit.
    pub(crate) fn storable(&self, status: StatusCode, headers: &HeaderMap) -> bool {
        let validator =
            headers.contains_key(header::ETAG) || headers.contains_key(header::LAST_MODIFIED);
        // Most answers have no validator: nothing more to look at.
        if status != StatusCode::OK || !validator {
            return false;
        }
        let length = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let vary_star = headers
            .get_all(header::VARY)
            .iter()
            .any(|v| v.to_str().is_ok_and(|s| s.contains('*')));
        !vary_star
            && !has_directive(headers, "no-store")
            && length.is_some_and(|n| n <= self.max_body)
    }

    /// Adds `If-None-Match` / `If-Modified-Since` for a stored response, unless the caller
    /// set conditional headers itself. Returns whether it did.
    pub(crate) fn add_validators(&self, key: &str, request: &mut HeaderMap) -> bool {
        if request.contains_key(header::IF_NONE_MATCH)
            || request.contains_key(header::IF_MODIFIED_SINCE)
        {
            return false;
        }
        let guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let Some(stored) = guard.0.get(key) else {
            return false;
        };
        if stored
            .vary
            .iter()
            .any(|(name, value)| request.get(name) != value.as_ref())
        {
            return false;
        }
        if let Some(etag) = stored.etag() {
            request.insert(header::IF_NONE_MATCH, etag.clone());
        } else if let Some(lm) = stored.last_modified() {
            request.insert(header::IF_MODIFIED_SINCE, lm.clone());
        } else {
            return false;
        }
        true
    }

    pub(crate) fn store(
        &self,
        key: &str,
        request: &HeaderMap,
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
    ) {
        let vary = headers
            .get_all(header::VARY)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
            .map(|n| {
                let v = request.get(&n).cloned();
                (n, v)
            })
            .collect();
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (map, order) = &mut *guard;
        if map
            .insert(
                key.to_owned(),
                Stored {
                    status,
                    headers,
                    body,
                    vary,
                },
            )
            .is_none()
        {
            order.push_back(key.to_owned());
        }
        while map.len() > self.max_entries {
            match order.pop_front() {
                Some(old) => {
                    map.remove(&old);
                }
                None => break,
            }
        }
    }

    /// The stored response updated with the headers of a 304 (RFC 9111 §4.3.4).
    pub(crate) fn freshen(&self, key: &str, not_modified: &HeaderMap) -> Option<Stored> {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let stored = guard.0.get_mut(key)?;
        for (name, value) in not_modified {
            if name != header::CONTENT_LENGTH && name != header::TRANSFER_ENCODING {
                stored.headers.insert(name.clone(), value.clone());
            }
        }
        Some(stored.clone())
    }

    pub(crate) fn remove(&self, key: &str) {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        guard.0.remove(key);
        guard.1.retain(|k| k != key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    HeaderValue::from_str(v).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn stores_only_what_rfc_9111_allows() {
        let c = Cache::new(2, 100);
        assert!(c.storable(
            StatusCode::OK,
            &headers(&[("etag", "\"a\""), ("content-length", "5")])
        ));
        assert!(!c.storable(StatusCode::OK, &headers(&[("content-length", "5")])));
        assert!(!c.storable(
            StatusCode::OK,
            &headers(&[("etag", "\"a\""), ("content-length", "500")])
        ));
        assert!(!c.storable(
            StatusCode::OK,
            &headers(&[
                ("etag", "\"a\""),
                ("content-length", "5"),
                ("cache-control", "private, no-store")
            ])
        ));
        assert!(!c.storable(
            StatusCode::OK,
            &headers(&[("etag", "\"a\""), ("content-length", "5"), ("vary", "*")])
        ));
        assert!(!c.storable(
            StatusCode::CREATED,
            &headers(&[("etag", "\"a\""), ("content-length", "5")])
        ));
    }

    #[test]
    fn validators_respect_vary_and_the_callers_own() {
        let c = Cache::new(2, 100);
        let req = headers(&[("accept", "application/json")]);
        c.store(
            "k",
            &req,
            StatusCode::OK,
            headers(&[("etag", "\"v1\""), ("vary", "Accept")]),
            Bytes::from_static(b"x"),
        );
        let mut same = req.clone();
        assert!(c.add_validators("k", &mut same));
        assert_eq!(same.get("if-none-match").unwrap(), "\"v1\"");
        let mut other = headers(&[("accept", "text/html")]);
        assert!(!c.add_validators("k", &mut other));
        let mut own = headers(&[
            ("accept", "application/json"),
            ("if-none-match", "\"mine\""),
        ]);
        assert!(!c.add_validators("k", &mut own));
        assert_eq!(own.get("if-none-match").unwrap(), "\"mine\"");
    }

    #[test]
    fn oldest_entry_goes_first() {
        let c = Cache::new(2, 100);
        for k in ["a", "b", "c"] {
            c.store(
                k,
                &HeaderMap::new(),
                StatusCode::OK,
                headers(&[("etag", "\"x\"")]),
                Bytes::new(),
            );
        }
        assert!(!c.add_validators("a", &mut HeaderMap::new()));
        assert!(c.add_validators("c", &mut HeaderMap::new()));
    }
}
