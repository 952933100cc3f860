//! A minimal `--name value` flag parser, so that the benchmarks need no argument crate.

use std::collections::HashMap;
use std::str::FromStr;

use anyhow::{Context, anyhow, bail};

/// Flags given on the command line, by name (without the leading `--`).
#[derive(Debug, Default)]
pub struct Flags {
    /// Value by flag name.
    values: HashMap<String, String>,
}

impl Flags {
    /// Parses `--name value` and `--name=value` pairs whose names are in `known`.
    /// `-h` or `--help` prints `usage` and exits with 0; anything else unexpected is an error.
    pub fn parse(
        args: impl IntoIterator<Item = String>,
        known: &[&str],
        usage: &str,
    ) -> anyhow::Result<Flags> {
        let mut values = HashMap::new();
        let mut it = args.into_iter();
        while let Some(arg) = it.next() {
            if arg == "-h" || arg == "--help" {
                println!("{usage}");
                std::process::exit(0);
            }
            let Some(flag) = arg.strip_prefix("--") else {
                bail!("unexpected argument {arg:?}\n\n{usage}");
            };
            let (name, value) = match flag.split_once('=') {
                Some((n, v)) => (n.to_owned(), v.to_owned()),
                None => {
                    let v = it
                        .next()
                        .ok_or_else(|| anyhow!("--{flag} needs a value\n\n{usage}"))?;
                    (flag.to_owned(), v)
                }
            };
            if !known.contains(&name.as_str()) {
                bail!("unknown flag --{name}\n\n{usage}");
            }
            values.insert(name, value);
        }
        Ok(Flags { values })
    }

    /// The value of `--name` parsed as `T`, or `default` when the flag is absent.
    pub fn get<T>(&self, name: &str, default: T) -> anyhow::Result<T>
    where
        T: FromStr,
        T::Err: std::error::Error + Send + Sync + 'static,
    {
        match self.values.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .with_context(|| format!("--{name}: cannot read {v:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> anyhow::Result<Flags> {
        Flags::parse(args.iter().map(|s| s.to_string()), &["a", "b"], "usage")
    }

    #[test]
    fn both_spellings_and_defaults() {
        let f = parse(&["--a", "3", "--b=x"]).unwrap();
        assert_eq!(f.get("a", 0u32).unwrap(), 3);
        assert_eq!(f.get("b", String::new()).unwrap(), "x");
        assert_eq!(parse(&[]).unwrap().get("a", 7u32).unwrap(), 7);
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(parse(&["--c", "1"]).is_err());
        assert!(parse(&["--a"]).is_err());
        assert!(parse(&["a"]).is_err());
        assert!(parse(&["--a", "x"]).unwrap().get("a", 0u32).is_err());
    }
}
