//! `verdict call --client-id …`: the OAuth 2.0 client the flags describe.

use anyhow::anyhow;
use verdict_client::oauth::OAuth2;

use super::args::{CallArgs, Plan, parse_url};
use crate::Failure;

/// The OAuth 2.0 client of `--client-id` and the flags that go with it, sending its token
/// requests through `http`; `None` without `--client-id`.
pub(crate) fn oauth(
    args: &CallArgs,
    plan: &Plan,
    http: &reqwest::Client,
) -> Result<Option<OAuth2>, Failure> {
    let (Some(id), Some(secret)) = (&args.client_id, &args.client_secret) else {
        return Ok(None);
    };
    let token_url = match &args.token_url {
        Some(u) => parse_url(u)?,
        None => OAuth2::endpoint(&plan.contract, Some(&plan.url)).map_err(|e| {
            anyhow!("{e}; give the token endpoint with --token-url, or choose the contract with --contract")
        })?,
    };
    let mut b = OAuth2::builder(token_url, id.clone(), secret.clone()).http(http.clone());
    if let (Some(user), Some(password)) = (&args.username, &args.password) {
        b = b.password(user.clone(), password.clone());
    }
    if args.client_credentials {
        b = b.client_credentials();
    }
    if let Some(path) = &args.token_file {
        b = b.token_file(path);
    }
    Ok(Some(b.build()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        call: CallArgs,
    }

    fn plan_for(argv: &[&str]) -> (CallArgs, Plan) {
        let cli = Cli::try_parse_from(std::iter::once("call").chain(argv.iter().copied()))
            .unwrap_or_else(|e| panic!("{e}"));
        let plan = Plan::new(&cli.call).unwrap_or_else(|e| panic!("{}", e.error));
        (cli.call, plan)
    }

    #[test]
    fn the_token_endpoint_is_the_contracts_at_the_urls_origin() {
        let (args, plan) = plan_for(&[
            "--contract",
            "ringcentral",
            "--client-id",
            "id",
            "--client-secret",
            "s",
            "http://127.0.0.1:9/restapi/v1.0/account/~",
        ]);
        let http = verdict_client::http_client().build().unwrap();
        let o = oauth(&args, &plan, &http).unwrap().unwrap();
        assert_eq!(
            o.token_url().as_str(),
            "http://127.0.0.1:9/restapi/oauth/token"
        );
    }

    #[test]
    fn a_contract_without_a_token_endpoint_needs_token_url() {
        let (args, plan) = plan_for(&[
            "--contract",
            "webex",
            "--client-id",
            "id",
            "--client-secret",
            "s",
            "http://127.0.0.1:9/v1/rooms",
        ]);
        let http = verdict_client::http_client().build().unwrap();
        let e = oauth(&args, &plan, &http).unwrap_err().error.to_string();
        assert!(e.contains("--token-url"), "{e}");
    }

    #[test]
    fn flags_that_need_each_other_are_checked() {
        let parse = |argv: &[&str]| {
            Cli::try_parse_from(std::iter::once("call").chain(argv.iter().copied())).is_ok()
        };
        assert!(!parse(&["--client-id", "id", "u"]));
        assert!(!parse(&[
            "--client-id",
            "i",
            "--client-secret",
            "s",
            "--username",
            "u",
            "x"
        ]));
        assert!(!parse(&["--token-file", "f", "x"]));
        assert!(!parse(&[
            "-u",
            "a:b",
            "--client-id",
            "i",
            "--client-secret",
            "s",
            "x"
        ]));
    }
}
