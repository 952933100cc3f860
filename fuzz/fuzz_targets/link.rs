//! `Link` header values, resolved against a fixed base URL.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use url::Url;

static BASE: LazyLock<Url> =
    LazyLock::new(|| Url::parse("https://webexapis.com/v1/rooms?max=10").unwrap());

fuzz_target!(|text: &str| {
    let _ = verdict::headers::next_link(text, &BASE);
});
