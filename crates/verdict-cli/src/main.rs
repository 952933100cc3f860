//! The `verdict` command: explain, list, check and render API response contracts.

mod call;
mod catalog_cmds;
mod serve;
mod table;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

// The emulator allocates a little for every request; mimalloc does that in a fraction of
// the system allocator's time (see bench/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Every HTTP response deserves a verdict: what it means, and what the client must do next.
///
/// CONTRACT is a built-in id (http, webex, whispir, ringcentral, token-api, webex-connect)
/// or the path of a contract file (see docs/contract-format.md).
#[derive(Debug, Parser)]
#[command(
    name = "verdict",
    version,
    propagate_version = true,
    max_term_width = 100
)]
struct Cli {
    /// More output on stderr: the debug log, or for call the request and response heads
    /// (-vv adds the debug log).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Explain one status or application code: meaning, category, exact vendor messages,
    /// the client action and where the rule comes from.
    ///
    /// Codes from 100 to 599 are HTTP statuses; larger ones are application codes found
    /// in every API of the contract unless --api names one.
    #[command(
        after_help = "Examples:\n  verdict explain webex 423\n  verdict explain webex-connect 7109\n  verdict explain ringcentral 404 --method DELETE\n  verdict explain webex 500 --method POST --idempotency-key\n  verdict explain webex-connect 1002 --api profile --json"
    )]
    Explain {
        /// A built-in contract id or a contract file.
        contract: String,
        /// The HTTP status or application code: a number, or a vendor's text code such
        /// as invalid_auth.
        code: String,
        /// Only this API of the contract (e.g. messaging, transaction-status).
        #[arg(long)]
        api: Option<String>,
        /// Say what the client does with this answer to a request with this method (e.g.
        /// DELETE), as the decision engine decides it for `verdict call`.
        #[arg(long, short = 'X')]
        method: Option<String>,
        /// The request carries the contract's idempotency key (with --method).
        #[arg(long, requires = "method")]
        idempotency_key: bool,
        /// Print one JSON array of entries.
        #[arg(long)]
        json: bool,
    },
    /// List every entry of one contract, or of every built-in contract.
    #[command(
        after_help = "Examples:\n  verdict list webex\n  verdict list webex-connect --json \\\n      | jq '[.[] | select(.outcome == \"error\")] | length'"
    )]
    List {
        /// A built-in contract id or a contract file; all built-in contracts when left out.
        contract: Option<String>,
        /// Also list the baseline statuses the vendor's document does not name.
        #[arg(long)]
        all: bool,
        /// Print one JSON array of entries.
        #[arg(long)]
        json: bool,
    },
    /// Validate contract files and report every problem with its line and field.
    ///
    /// Files may extend built-in contracts or each other. Exits 1 when any file has a
    /// problem.
    Check {
        /// Contract files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Render a contract as a reference table, like the vendor documents it came from.
    Render {
        /// A built-in contract id or a contract file.
        contract: String,
        /// markdown or html.
        #[arg(long, short, default_value = "markdown")]
        format: String,
        /// Write to this file instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Send one request under a contract's rules, like curl: retries, Retry-After (with a
    /// countdown), redirects, conditional requests, 202 polling, 207 batches and application
    /// codes.
    ///
    /// The body goes to stdout (or -o FILE); the trace goes to stderr as things happen: each
    /// attempt when it is sent, with the time its answer is due, each decision and each wait
    /// (-v adds the request and response heads, credentials shown in part; -s hides it all).
    /// Redirects are always followed as the contract says (-L changes nothing). A body from
    /// -d @FILE is streamed, so a retry it needs fails as not replayable; -d @- < FILE keeps it
    /// in memory. --max-time bounds the whole call, --timeout each attempt. A 207 batch is
    /// split into its parts, one body per line.
    ///
    /// Exit codes: 0 success (for a batch: every part 2xx), 2 bad usage, 3 client error (4xx
    /// or an error application code), 4 server error after the retries, 5 a wait beyond
    /// --max-wait, 6 network failure or --max-time passed, 7 another protocol failure. -f
    /// keeps these codes (curl's is 22) and only holds back the body of an error.
    #[command(after_help = CALL_EXAMPLES)]
    Call(call::CallArgs),
    /// Run the emulator of a contract: real resources, every documented status on demand.
    ///
    /// Prints the base URL, the credentials to send and where the admin API is, then serves
    /// until SIGINT or SIGTERM. Any request may carry `X-Verdict-Fault: status=503;
    /// retry-after=2` (also `delay-ms`, `code`) to get that answer; `/_verdict/` holds the
    /// admin API (faults, maintenance, locks, moves, tokens, quotas, reset, journal) and
    /// `/_verdict/openapi.json`.
    #[command(
        after_help = "Examples:\n  verdict serve webex\n  verdict serve token-api --port 9000 --token secret --quota 5/60\n  verdict serve webex --fault-rate 0.1 --latency-ms 5..50 --seed 7"
    )]
    Serve(serve::ServeArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(
        after_help = "Example:\n  verdict completions bash > ~/.local/share/bash-completion/completions/verdict"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// Examples for `verdict call --help`, each short enough not to wrap on 80 columns.
const CALL_EXAMPLES: &str = "\
Examples:
  verdict call https://webexapis.com/v1/rooms -H 'Authorization: Bearer TOKEN'
  verdict call -v -m 20 --timeout 5 127.0.0.1:8080/v1/items/1
  verdict call -c token-api -X PATCH -d '{\"name\": \"x\"}' --json \\
      127.0.0.1:8080/v1/items/1
  verdict call -c whispir --poll -d @message.json \\
      https://api.au.whispir.com/messages
  verdict call -c ringcentral -H 'Authorization: Bearer TOKEN' --json \\
      https://platform.ringcentral.com/restapi/v1.0/account/~/extension/1,2,3
  verdict call -c ringcentral --client-id ID --client-secret SECRET \\
      --username +16505550100 --password PASS --token-file rc-tokens.json \\
      https://platform.ringcentral.com/restapi/v1.0/account/~/extension/~
  verdict call -I -u USER:PASS --cacert ca.pem https://127.0.0.1:8443/health
  verdict call -s -f -o rooms.json --compressed https://webexapis.com/v1/rooms";

/// Exit codes of the command.
pub(crate) mod exit {
    /// A checked file has problems.
    pub const INVALID: u8 = 1;
    /// Bad usage: unknown contract, code, API or option value.
    pub const USAGE: u8 = 2;
}

/// An error with the exit code it ends the command with.
#[derive(Debug)]
pub(crate) struct Failure {
    pub code: u8,
    pub error: anyhow::Error,
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure {
            code: exit::USAGE,
            error: e.into(),
        }
    }
}

pub(crate) type Outcome = Result<(), Failure>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // For call, the first -v shows the heads of every attempt; the log starts at -vv.
    let log_level = match &cli.command {
        Command::Call(_) => cli.verbose.saturating_sub(1),
        _ => cli.verbose,
    };
    init_logging(log_level);
    let result = match cli.command {
        Command::Explain {
            contract,
            code,
            api,
            method,
            idempotency_key,
            json,
        } => catalog_cmds::explain(
            &contract,
            &code,
            api.as_deref(),
            method.as_deref(),
            idempotency_key,
            json,
        ),
        Command::List {
            contract,
            all,
            json,
        } => catalog_cmds::list(contract.as_deref(), all, json),
        Command::Check { files, json } => catalog_cmds::check(&files, json),
        Command::Render {
            contract,
            format,
            output,
        } => catalog_cmds::render(&contract, &format, output.as_deref()),
        Command::Call(mut args) => {
            args.verbose = cli.verbose;
            call::call(args)
        }
        Command::Serve(args) => serve::serve(args),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "verdict",
                &mut std::io::stdout(),
            );
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            let _ = std::io::stdout().flush();
            // `{:#}` prints the context chain on one line.
            eprintln!("verdict: {:#}", f.error);
            ExitCode::from(f.code)
        }
    }
}

fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => tracing::Level::WARN,
        1 => tracing::Level::DEBUG,
        _ => tracing::Level::TRACE,
    };
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(call::colours_on_stderr())
        .with_target(false)
        .without_time()
        .init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_valid() {
        Cli::command().debug_assert();
    }
}
