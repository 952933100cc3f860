//! verdict: an API's documented response codes as a contract, and what a client must do
//! about each one.
//!
//! A contract is a TOML file (see `docs/contract-format.md`) with every HTTP status and
//! application code an API documents, its meaning, its category and the client action.
//! The built-in contracts (`http`, `webex`, `whispir`, `ringcentral`, `token-api`,
//! `webex-connect`) are compiled in; any other file loads with [`Catalog::with_files`].
//!
//! ```
//! use http::Method;
//! use verdict::{Action, Catalog};
//!
//! let catalog = Catalog::builtin();
//! let rc = catalog.get("ringcentral").unwrap();
//! assert_eq!(rc.retry.max_retries, 3);
//! assert_eq!(rc.status(404).unwrap().for_method(&Method::DELETE).action, Action::Done);
//!
//! let dnd = catalog.explain("webex-connect", 7109, Some("transaction-status"), None).unwrap();
//! assert_eq!(dnd[0].messages, ["User in DnD"]);
//! ```
//!
//! This crate does no I/O of its own beyond what the caller hands it.

#![warn(missing_docs)]

pub mod body_check;
pub mod breaker;
pub mod budget;
mod builtin;
mod catalog;
mod code;
pub mod decide;
pub mod emulate;
pub mod headers;
mod load;
mod model;
pub mod multipart;
mod names;
mod pointer;
pub mod problem;
pub mod ratelimit;
pub mod render;
pub mod schema;
pub mod sf;
pub mod suggest;

pub use catalog::{Applied, Asked, Catalog, Entry, LookupError, Signal, SourceFile};
pub use code::{CodeValue, InvalidCode};
pub use load::{LoadError, LoadErrors, Problem};
pub use model::{
    Action, Api, AppCode, Auth, AuthScheme, Condition, Contract, DataValue, DataValues,
    Deprecation, ErrorBody, FailureFlag, FieldErrorShape, Header, Headers, IdempotencyAnswer,
    IdempotencyRules, InvalidHeader, Message, MethodOverride, RateLimitHeaders, RedirectPolicy,
    RetryPolicy, Source, StatusEntry, Variant,
};
pub use names::{
    ActionKind, Category, ErrorFormat, EventParameter, FieldType, IdStyle, Jitter, LinkRelation,
    MissingLocation, Origin, Outcome, PageOversize, PageStyle, QuotaFields, RedirectMethod,
    RefusalReason, ResetFormat, SchemeKind, UnknownFields, UnknownName, VendorModule,
};
pub use pointer::{JsonPointer, PointerError};
