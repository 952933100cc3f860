//! `Retry-After` values (delta-seconds or HTTP dates) against a fixed clock.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    // 2015-10-21 07:28:00 UTC
    let now = UNIX_EPOCH + Duration::from_secs(1_445_412_480);
    let _ = verdict::headers::retry_after(text, now);
});
