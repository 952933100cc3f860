//! A clock that does not sleep, and the clients built on it, for the client tests.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use reqwest_middleware::ClientWithMiddleware;
use verdict::{Catalog, Contract};
use verdict_client::timer::{Timer, Wait};
use verdict_client::{Error, Verdict, VerdictBuilder, VerdictErrorExt};

/// A clock that moves only when the client sleeps, and remembers every wait.
#[derive(Debug)]
pub struct FakeTimer {
    now: Mutex<SystemTime>,
    waits: Mutex<Vec<Wait>>,
}

impl FakeTimer {
    pub fn new() -> Arc<FakeTimer> {
        Arc::new(FakeTimer {
            now: Mutex::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
            waits: Mutex::default(),
        })
    }

    pub fn waits(&self) -> Vec<Wait> {
        self.waits.lock().unwrap().clone()
    }

    /// Moves the clock on, as time passing between requests.
    pub fn advance(&self, d: Duration) {
        *self.now.lock().unwrap() += d;
    }

    pub fn durations(&self) -> Vec<Duration> {
        self.waits().iter().map(|w| w.duration).collect()
    }
}

#[async_trait::async_trait]
impl Timer for FakeTimer {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap()
    }

    async fn sleep(&self, wait: &Wait) {
        *self.now.lock().unwrap() += wait.duration;
        self.waits.lock().unwrap().push(wait.clone());
    }
}

pub fn contract(id: &str) -> Contract {
    Catalog::builtin().get(id).unwrap().clone()
}

/// A contract written as `text` (as the file `name`), loaded over the built-in ones.
pub fn contract_from(name: &str, text: &str) -> Contract {
    let (catalog, id) = Catalog::builtin()
        .with_file(verdict::SourceFile::new(name, text))
        .unwrap();
    catalog.get(&id).unwrap().clone()
}

pub fn builder(id: &str, timer: &Arc<FakeTimer>) -> VerdictBuilder {
    Verdict::builder(contract(id)).timer(timer.clone())
}

pub fn client(b: VerdictBuilder) -> ClientWithMiddleware {
    verdict_client::client(b.build()).unwrap()
}

/// A client with the middleware on a reqwest client built from `http` (a builder from
/// `verdict_client::http_client()` with a setting changed: a timeout, trusted roots).
pub fn client_on(http: reqwest::ClientBuilder, b: VerdictBuilder) -> ClientWithMiddleware {
    reqwest_middleware::ClientBuilder::new(http.build().unwrap())
        .with(b.build())
        .build()
}

/// The middleware's error inside `e`; a panic when another layer made `e`.
pub fn verdict_error(e: reqwest_middleware::Error) -> Error {
    match e.verdict_error() {
        Some(v) => v.clone(),
        None => panic!("not a verdict error: {e}"),
    }
}
