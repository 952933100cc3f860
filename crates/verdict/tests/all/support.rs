//! What the loader tests share: a contract text loaded over the built-in catalog, and the
//! problems it reports.

use verdict::{Catalog, LoadErrors, SourceFile};

/// The start of a contract that extends the baseline.
pub(crate) const HEAD: &str = "[contract]\nid = \"t\"\nname = \"T\"\nextends = \"http\"\n";

/// `text` loaded as `t.toml` over the built-in contracts.
pub(crate) fn load(text: &str) -> Result<Catalog, LoadErrors> {
    Catalog::builtin().with_files([SourceFile::new("t.toml", text)])
}

/// Every problem the loader reports for `text`: line, column, field and message.
pub(crate) fn problems_at(text: &str) -> Vec<(usize, usize, String, String)> {
    let errors = load(text).expect_err("the contract should be rejected");
    errors
        .0
        .iter()
        .flat_map(|e| {
            e.problems
                .iter()
                .map(|p| (p.line, p.column, p.field.clone(), p.message.clone()))
        })
        .collect()
}

/// Every problem the loader reports for `text`: line, field and message.
pub(crate) fn problems(text: &str) -> Vec<(usize, String, String)> {
    problems_at(text)
        .into_iter()
        .map(|(line, _, field, message)| (line, field, message))
        .collect()
}

/// Asserts that the loader reports, for `text`, a problem at `field` whose message holds
/// `needle`.
pub(crate) fn one_problem(text: &str, field: &str, needle: &str) {
    let p = problems(text);
    assert!(
        p.iter().any(|(_, f, m)| f == field && m.contains(needle)),
        "no {field:?} problem with {needle:?} in {p:#?}"
    );
}

/// The `[emulator]` table of contract `t` in `text`, which must load.
pub(crate) fn emulator_of(text: &str) -> verdict::emulate::EmulatorSpec {
    let catalog = load(text).expect("the contract should load");
    let t = catalog.get("t").expect("the contract is t");
    t.emulator.clone().expect("it has an [emulator] table")
}
