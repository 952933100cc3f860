//! The `X-Verdict-Fault` request header grammar (`status=429; retry-after=3`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use verdict_server::fault::Fault;

fuzz_target!(|text: &str| {
    let _ = text.parse::<Fault>();
});
