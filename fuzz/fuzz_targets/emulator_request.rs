//! One request through the emulator's request path (`Emulator::handle`), as the HTTP
//! server would hand it over.
//!
//! Input layout: byte 0 holds flags (bit 0: `webex-connect` instead of `webex`; bits 1-3:
//! the method; bit 4: add the valid credential; bit 5: came over TLS). The rest is
//! `TARGET\nName: value\n...\n\nBODY`: the request target (path and query), header lines,
//! a blank line and the body. A target the HTTP layer would reject is skipped.
//!
//! Nothing sleeps: the config has no latency and no random faults, a `delay-ms` in an
//! `X-Verdict-Fault` header is cut to 1 ms, and the runtime's clock is paused, so a sleep
//! (e.g. a fault with a delay queued through `/_verdict/`) completes at once.
#![no_main]

use std::sync::LazyLock;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use libfuzzer_sys::fuzz_target;
use verdict_server::{Config, Emulator, Req};

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap()
});

static CONTRACTS: LazyLock<[verdict::Contract; 2]> = LazyLock::new(|| {
    let catalog = verdict::Catalog::builtin();
    ["webex", "webex-connect"].map(|id| catalog.get(id).unwrap().clone())
});

const METHODS: [&str; 8] = [
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "PROPFIND",
];
const TOKEN: &str = "verdict-token";

/// `delay-ms=N` pairs of a fault header, cut to 1 ms.
fn cap_delay(value: &str) -> String {
    value
        .split(';')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if k.trim().eq_ignore_ascii_case("delay-ms") => format!("{k}=1"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(";")
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let connect = flags & 1 != 0;
    let method = Method::from_bytes(METHODS[usize::from((flags >> 1) & 7)].as_bytes()).unwrap();
    let (head, body) = match rest.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&rest[..i], &rest[i + 2..]),
        None => (rest, &[][..]),
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.split('\n');
    let target = lines.next().unwrap_or("").trim_end_matches('\r');
    let Ok(uri) = target.parse::<Uri>() else {
        return;
    };
    if uri.scheme().is_some() || uri.authority().is_some() || !uri.path().starts_with('/') {
        return;
    }

    let mut headers = HeaderMap::new();
    for line in lines.take(16) {
        let Some((name, value)) = line.trim_end_matches('\r').split_once(':') else {
            continue;
        };
        let (Ok(name), value) = (HeaderName::from_bytes(name.trim().as_bytes()), value.trim())
        else {
            continue;
        };
        let value = if name == "x-verdict-fault" {
            cap_delay(value)
        } else {
            value.to_owned()
        };
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.append(name, value);
        }
    }
    if flags & 16 != 0 {
        if connect {
            headers.insert("key", HeaderValue::from_static(TOKEN));
        } else {
            headers.insert(
                http::header::AUTHORIZATION,
                HeaderValue::from_static("Bearer verdict-token"),
            );
        }
    }
    let https = flags & 32 != 0;
    let req = Req {
        method,
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or("").to_owned(),
        headers,
        body: Bytes::copy_from_slice(body),
        https,
        origin: if https {
            "https://127.0.0.1:8443"
        } else {
            "http://127.0.0.1:8080"
        }
        .to_owned(),
    };

    let config = Config {
        token: TOKEN.to_owned(),
        fault_rate: 0.0,
        latency_ms: None,
        ..Config::default()
    };
    let contract = CONTRACTS[usize::from(connect)].clone();
    let emulator = Emulator::new(contract, config).unwrap();
    let _ = RUNTIME.block_on(emulator.handle(&req));
});
