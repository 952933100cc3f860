//! Picking a contract in one line: a built-in one by id, or a contract file.

use std::path::{Path, PathBuf};

use verdict::{Catalog, LoadErrors, LookupError, SourceFile};

use crate::middleware::{Verdict, VerdictBuilder};

/// Why a contract could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// No built-in contract has this id (the error names close matches).
    #[error(transparent)]
    Unknown(#[from] LookupError),
    /// The contract file could not be read.
    #[error("cannot read contract file {}: {source}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the file system said.
        source: std::io::Error,
    },
    /// The contract file is not a valid contract (every problem with line and column).
    #[error("{} is not a valid contract:\n{source}", .path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Every problem found.
        source: LoadErrors,
    },
}

impl Verdict {
    /// A builder for the built-in contract `id` (`webex`, `whispir`, `ringcentral`,
    /// `token-api`, `webex-connect` or the `http` baseline). A typo names the close ids.
    ///
    /// ```
    /// let middleware = verdict_client::Verdict::builtin("webex").unwrap().build();
    /// # let _ = middleware;
    /// let typo = verdict_client::Verdict::builtin("webx").unwrap_err();
    /// assert!(typo.to_string().contains("webex"), "{typo}");
    /// ```
    pub fn builtin(id: &str) -> Result<VerdictBuilder, SetupError> {
        let contract = Catalog::builtin().contract(id)?;
        Ok(Verdict::builder(contract.clone()))
    }

    /// A builder for the contract in a TOML file, loaded on top of the built-in contracts
    /// (so it may extend `http` or any vendor's contract).
    ///
    /// ```no_run
    /// let middleware = verdict_client::Verdict::from_file("contracts/mine.toml")?.build();
    /// # Ok::<(), verdict_client::SetupError>(())
    /// ```
    pub fn from_file(path: impl AsRef<Path>) -> Result<VerdictBuilder, SetupError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| SetupError::Read {
            path: path.to_owned(),
            source,
        })?;
        let origin = path.display().to_string();
        let (catalog, id) = Catalog::builtin()
            .with_file(SourceFile::new(origin, text))
            .map_err(|source| SetupError::Invalid {
                path: path.to_owned(),
                source,
            })?;
        let contract = catalog.contract(&id)?.clone();
        Ok(Verdict::builder(contract))
    }
}

impl VerdictBuilder {
    /// The middleware on a client of its own ([`crate::http_client`]: reqwest's own
    /// redirects off, so that the contract's redirect rules apply).
    ///
    /// ```
    /// let client = verdict_client::Verdict::builtin("webex").unwrap().client().unwrap();
    /// # let _ = client;
    /// ```
    pub fn client(self) -> Result<reqwest_middleware::ClientWithMiddleware, reqwest::Error> {
        crate::client(self.build())
    }
}
