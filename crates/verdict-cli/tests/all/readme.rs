//! What README shows is what the command does: every `verdict explain` and `verdict list`
//! line of its console examples is run and its output compared with the lines shown under
//! it, and no help example wraps in the middle of a command on an 80-column terminal.

use std::process::Command;

const README: &str = include_str!("../../../../README.md");

/// The subcommands whose help has examples, and the rest.
const SUBCOMMANDS: &[&str] = &[
    "explain",
    "list",
    "check",
    "render",
    "call",
    "serve",
    "completions",
];

fn run(args: &[&str], columns: Option<&str>) -> String {
    let mut c = Command::new(env!("CARGO_BIN_EXE_verdict"));
    // README's paths are relative to the repository's root.
    c.args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    if let Some(n) = columns {
        c.env("COLUMNS", n);
    }
    let o = c.output().expect("run verdict");
    String::from_utf8(o.stdout).unwrap()
}

/// The output of `stage` (a README pipe stage) given `input`.
fn pipe(stage: &str, input: &str) -> String {
    if let Some(pattern) = stage.strip_prefix("grep ") {
        let pattern = pattern.trim_matches('\'');
        let keep = |l: &str| match pattern.strip_prefix('^') {
            Some(start) => l.starts_with(start),
            None => l.contains(pattern),
        };
        return input
            .lines()
            .filter(|l| keep(l))
            .map(|l| format!("{l}\n"))
            .collect();
    }
    let json: serde_json::Value = serde_json::from_str(input).expect("JSON output");
    match stage {
        "jq -r '.[0].action_detail'" => format!("{}\n", json[0]["action_detail"].as_str().unwrap()),
        "jq '[.[] | select(.outcome == \"error\")] | length'" => {
            let n = json
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["outcome"] == "error")
                .count();
            format!("{n}\n")
        }
        other => panic!("README pipes into `{other}`: teach this test what it does"),
    }
}

#[test]
fn readme_examples_print_what_readme_shows() {
    let lines: Vec<&str> = README.lines().collect();
    let mut checked = 0;
    for (i, line) in lines.iter().enumerate() {
        let Some(command) = line.strip_prefix("$ verdict ") else {
            continue;
        };
        // One pipe at most (a jq program may hold ` | ` itself).
        let (first, stage) = match command.split_once(" | ") {
            Some((first, stage)) => (first, Some(stage)),
            None => (command, None),
        };
        let args: Vec<&str> = first.split_whitespace().collect();
        if !matches!(args.first(), Some(&"explain" | &"list" | &"check")) {
            continue;
        }
        let shown: String = lines[i + 1..]
            .iter()
            .take_while(|l| !l.is_empty() && !l.starts_with("$ ") && !l.starts_with("```"))
            .map(|l| format!("{l}\n"))
            .collect();
        let mut out = run(&args, None);
        if let Some(stage) = stage {
            out = pipe(stage.trim(), &out);
        }
        assert_eq!(out, shown, "README: $ verdict {command}");
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} README examples found");
}

#[test]
fn no_help_example_wraps_in_the_middle_of_a_command() {
    for sub in SUBCOMMANDS {
        let help = run(&[sub, "--help"], Some("80"));
        let Some((_, examples)) = help.split_once("Example") else {
            continue;
        };
        let mut continued = false;
        for line in examples.lines().skip(1).filter(|l| !l.trim().is_empty()) {
            assert!(
                line.starts_with("  verdict ") || continued,
                "`verdict {sub} --help` wraps an example: {line:?}\n{help}"
            );
            assert!(line.len() <= 80, "{sub}: {line:?}");
            continued = line.ends_with(" \\");
        }
    }
}
