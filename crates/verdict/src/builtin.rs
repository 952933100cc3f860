//! The contracts compiled into verdict.

/// `(file name, TOML text)` of every built-in contract; the baseline comes first.
pub(crate) const FILES: &[(&str, &str)] = &[
    ("http.toml", include_str!("../../../contracts/http.toml")),
    ("webex.toml", include_str!("../../../contracts/webex.toml")),
    (
        "whispir.toml",
        include_str!("../../../contracts/whispir.toml"),
    ),
    (
        "ringcentral.toml",
        include_str!("../../../contracts/ringcentral.toml"),
    ),
    (
        "token-api.toml",
        include_str!("../../../contracts/token-api.toml"),
    ),
    (
        "webex-connect.toml",
        include_str!("../../../contracts/webex-connect.toml"),
    ),
];
