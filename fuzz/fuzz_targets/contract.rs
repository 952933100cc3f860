//! A contract file of arbitrary text, loaded on top of the built-in catalog.
#![no_main]

use libfuzzer_sys::fuzz_target;
use verdict::{Catalog, SourceFile};

fuzz_target!(|text: &str| {
    let _ = Catalog::builtin().with_files([SourceFile::new("f.toml", text)]);
});
