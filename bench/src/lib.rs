//! Shared pieces of the verdict benchmarks: a loopback HTTP/1 server that runs on its own
//! thread and stops on request, the retrying clients verdict is compared with, a small flag
//! parser, and latency statistics.
//!
//! The benchmarks themselves are the binaries `overhead` and `retry-storm`, and the script
//! `bench/emulator.sh`, which compares `verdict serve` with the binary `baseline` (a minimal
//! server); see the crate's README for what each measures and how to run it.

#![warn(missing_docs)]

pub mod args;
pub mod peers;
pub mod server;
pub mod stats;
