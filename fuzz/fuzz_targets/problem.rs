//! A body read as problem details (RFC 9457): any bytes, never a panic; what is read writes
//! back and reads again to the same problem.
#![no_main]

use libfuzzer_sys::fuzz_target;
use verdict::problem::Problem;

fuzz_target!(|body: &[u8]| {
    if let Ok(p) = Problem::parse(body) {
        let again = Problem::parse(&p.to_json()).expect("a written problem reads back");
        assert_eq!(again, p);
    }
});
